// audit.js — the Audit log page: every environment's change log in one list (GET /changes on the
// unprefixed API, which is not scoped to an environment), newest first, filtered by environment,
// flag key, actor, event (a name or a group glob such as `flag.*`) and time range. Each entry is
// one line — when, where (in the environment's colour), who, what, which flag — that opens to its
// before → after diff. Older entries load on demand.

import { apiFor, query } from './api.js';
import { h, replaceChildren, timeEl } from './dom.js';
import { environmentChip, environments } from './environments.js';
import { actorEl, changeDiff, eventsList } from './history.js';
import { errorSlot, field, run } from './widgets.js';

const PAGE = 50;

/** The filters, kept while the user looks at other pages and comes back. */
const filter = { environment: '', flagKey: '', actor: '', event: '', since: '', until: '' };

export async function auditPage(page) {
  page.title('Audit log');
  const catalogue = await apiFor(null).get('/webhook_events');
  const errors = errorSlot();
  const list = h('ol', { class: 'changes audit', 'aria-label': 'Changes, newest first' });
  const empty = h('p', { class: 'muted', hidden: true }, 'No changes match these filters.');
  const more = h('button', { type: 'button', class: 'button', hidden: true }, 'Load older changes');
  const controls = filterControls(catalogue);
  let oldest = null;

  const load = async () => {
    // One change more than a page says whether anything older is left, so the button shows
    // only when it has something to load.
    const changes = await apiFor(null).get(`/changes${query({ ...parameters(), limit: PAGE + 1, before: oldest })}`);
    const shown = changes.slice(0, PAGE);
    list.append(...shown.map((change) => h('li', {}, entry(change))));
    if (shown.length) oldest = shown[shown.length - 1].sequence;
    more.hidden = changes.length <= PAGE;
    empty.hidden = list.children.length > 0;
  };
  const apply = async () => {
    Object.assign(filter, controls.values());
    oldest = null;
    replaceChildren(list);
    await load();
  };
  const form = h(
    'form',
    {
      class: 'filters',
      'aria-label': 'Filter changes',
      on: {
        submit: (event) => {
          event.preventDefault();
          run(event.submitter, errors, apply);
        },
      },
    },
    controls.fields,
    h('div', { class: 'actions' }, h('button', { type: 'submit', class: 'button primary' }, 'Filter')),
  );
  more.addEventListener('click', () => run(more, errors, load));
  await load();
  replaceChildren(
    page.root,
    h('h1', {}, 'Audit log'),
    h('p', { class: 'muted' }, 'Every change in every environment, newest first. Open an entry to see what it changed.'),
    form,
    errors,
    list,
    empty,
    more,
  );
}

/** The filter's query parameters; the time range in UTC, as the API takes it. */
function parameters() {
  return {
    environment: filter.environment,
    flag_key: filter.flagKey,
    actor: filter.actor,
    event: filter.event,
    since: rfc3339(filter.since),
    until: rfc3339(filter.until),
  };
}

/** A `datetime-local` value (the user's local time) as an RFC 3339 UTC timestamp; '' stays ''. */
function rfc3339(local) {
  return local ? new Date(local).toISOString() : '';
}

/** The filter's controls, showing the current filter: `{fields, values()}`. */
function filterControls(catalogue) {
  const environment = h(
    'select',
    { id: 'audit-environment' },
    h('option', { value: '' }, 'All'),
    environments().map((env) => h('option', { value: env.key }, env.name)),
  );
  // A group glob for each family of events (`flag.*` covers `flag.enabled`...), then every name.
  const groups = [...new Set(catalogue.map((info) => `${info.name.split('.')[0]}.*`))];
  const event = h(
    'select',
    { id: 'audit-event' },
    h('option', { value: '' }, 'Any'),
    h('optgroup', { label: 'Groups' }, groups.map((glob) => h('option', { value: glob }, glob))),
    h('optgroup', { label: 'Events' }, catalogue.map((info) => h('option', { value: info.name, title: info.description }, info.name))),
  );
  const flagKey = h('input', { id: 'audit-flag-key', autocomplete: 'off', class: 'mono' });
  const actor = h('input', { id: 'audit-actor', autocomplete: 'off' });
  const since = h('input', { id: 'audit-since', type: 'datetime-local', step: 1 });
  const until = h('input', { id: 'audit-until', type: 'datetime-local', step: 1 });
  const inputs = { environment, flagKey, actor, event, since, until };
  for (const [name, control] of Object.entries(inputs)) control.value = filter[name];
  return {
    fields: [
      field('Environment', environment),
      field('Flag key', flagKey),
      field('Actor', actor),
      field('Event', event),
      field('From', since, 'Your local time, inclusive'),
      field('Until', until, 'Your local time, exclusive'),
    ],
    values: () => Object.fromEntries(Object.entries(inputs).map(([name, control]) => [name, control.value.trim()])),
  };
}

/** One change: a summary line that opens to its diff. */
function entry(change) {
  const environment = environments().find((env) => env.key === change.environment.key) || change.environment;
  return h(
    'details',
    { class: 'change audit-entry', 'data-sequence': change.sequence, 'data-environment': change.environment.key },
    h(
      'summary',
      { class: 'change-head' },
      timeEl(change.timestamp),
      environmentChip(environment),
      actorEl(change.actor),
      eventsList(change, true),
      change.flag_key === null ? null : h('span', { class: 'mono flag-key' }, change.flag_key),
    ),
    h('div', { class: 'audit-diff' }, changeDiff(change)),
  );
}
