// flags.js — the flags list (#/): search by id, key, description and tag; create a flag, empty
// or from Flagr's boolean template; list deleted flags and restore them. Flags with constraint
// problems (GET /constraint_problems) carry a badge: an error for a constraint that does not
// compile, a warning for one that can never match. With several environments each flag shows
// whether it is on in each of them (one GET /flags per environment and render).

import { api, apiFor } from './api.js';
import { currentEnvironment, environmentChip, environments } from './environments.js';
import { h, replaceChildren, timeEl } from './dom.js';
import { may } from './session.js';
import { badge, card, errorSlot, field, run } from './widgets.js';

export async function flagsPage(page) {
  page.title('Flags');
  const [flags, problems] = await Promise.all([api.get('/flags'), api.get('/constraint_problems')]);
  const states = await statesByEnvironment(flags);
  replaceChildren(page.root, h('h1', {}, 'Flags'), may('editor') ? createCard() : null, listCard(flags, problemsByFlag(problems), states), deletedCard());
}

/**
 * For each environment, its flags' enabled state by key (a key names the same flag everywhere);
 * null when there is only one environment, whose state the Status column already shows.
 */
async function statesByEnvironment(flags) {
  const all = environments();
  if (all.length < 2) return null;
  const current = currentEnvironment();
  const lists = await Promise.all(all.map((environment) => (environment.key === current.key ? flags : apiFor(environment).get('/flags'))));
  return all.map((environment, index) => ({ environment, enabled: new Map(lists[index].map((flag) => [flag.key, flag.enabled])) }));
}

/** One small labelled indicator per environment: on, off, or not there. */
function environmentStates(flag, states) {
  return h(
    'span',
    { class: 'env-states' },
    states.map(({ environment, enabled }) => {
      const state = enabled.has(flag.key) ? (enabled.get(flag.key) ? 'on' : 'off') : 'none';
      const chip = environmentChip(environment, ' ', h('span', { class: 'env-state' }, state === 'none' ? '—' : state));
      chip.classList.add(`env-${state}`);
      chip.title = state === 'none' ? `Not in ${environment.name}` : `${state === 'on' ? 'On' : 'Off'} in ${environment.name}`;
      return chip;
    }),
  );
}
function createCard() {
  const description = h('input', { id: 'new-flag-description', required: true, autocomplete: 'off' });
  const key = h('input', { id: 'new-flag-key', autocomplete: 'off', spellcheck: 'false' });
  const errors = errorSlot();
  const create = (template) => async (event) => {
    await run(event.currentTarget, errors, async () => {
      if (!description.value.trim()) throw new Error('Describe the flag first: what does it switch?');
      const flag = await api.post('/flags', { description: description.value.trim(), key: key.value.trim(), template });
      location.hash = `#/flags/${flag.id}`;
    });
  };
  const form = h(
    'form',
    { class: 'create-flag', on: { submit: (event) => event.preventDefault() } },
    h(
      'div',
      { class: 'row' },
      field('Description', description, 'What the flag switches, e.g. “New checkout page”.'),
      field('Key (optional)', key, 'How clients ask for it; letters, digits and _ - / . : (leave empty for a random key).'),
    ),
    h(
      'div',
      { class: 'actions' },
      h('button', { type: 'submit', class: 'button primary', on: { click: create('simple_boolean_flag') } }, 'Create boolean flag'),
      h('button', { type: 'button', class: 'button', on: { click: create('') } }, 'Create empty flag'),
    ),
    h(
      'p',
      { class: 'help' },
      'A boolean flag starts with a variant “on” served to 100% of entities, so it works as soon as you enable it. ' +
        'An empty flag has no variants or segments yet.',
    ),
    errors,
  );
  return card('New flag', form);
}

/** Problems grouped by flag id. */
function problemsByFlag(problems) {
  const byFlag = new Map();
  for (const problem of problems) {
    if (!byFlag.has(problem.flagID)) byFlag.set(problem.flagID, []);
    byFlag.get(problem.flagID).push(problem);
  }
  return byFlag;
}

/** One badge for a flag's constraint problems, the worst first; null when it has none. */
function problemBadge(problems = []) {
  const errors = problems.filter((problem) => problem.severity === 'error').length;
  const warnings = problems.length - errors;
  if (!problems.length) return null;
  const element = errors
    ? badge(`${errors} constraint error${errors === 1 ? '' : 's'}`, 'bad')
    : badge(`${warnings} constraint${warnings === 1 ? '' : 's'} never match${warnings === 1 ? 'es' : ''}`, 'warn');
  element.classList.add('constraint-problems');
  element.title = errors
    ? 'A stored constraint does not compile: its segment never matches, or the flag is left out of evaluation. Open the flag to fix it.'
    : 'A constraint can never match any entity. Open the flag to see which.';
  return element;
}

function listCard(flags, problems, states) {
  const search = h('input', {
    id: 'flag-search',
    type: 'search',
    autocomplete: 'off',
    placeholder: 'key, description or tag',
  });
  const count = h('p', { class: 'muted', 'aria-live': 'polite' });
  const body = h('tbody');
  const show = () => {
    const words = search.value.toLowerCase().split(/\s+/).filter(Boolean);
    const shown = flags.filter((flag) => words.every((word) => searchText(flag).includes(word)));
    replaceChildren(body, shown.map((flag) => flagRow(flag, problems.get(flag.id), states)));
    count.textContent = flags.length
      ? `${shown.length} of ${flags.length} flag${flags.length === 1 ? '' : 's'}`
      : 'No flags yet: create your first one above.';
  };
  search.addEventListener('input', show);
  show();
  const table = h(
    'div',
    { class: 'table-wrap' },
    h(
      'table',
      { class: 'table' },
      h('caption', { class: 'offscreen' }, 'Flags'),
      h(
        'thead',
        {},
        h(
          'tr',
          {},
          ['ID', 'Key', 'Description', 'Tags', 'Status', states ? 'Environments' : null, 'Updated'].filter(Boolean).map((name) => h('th', { scope: 'col' }, name)),
        ),
      ),
      body,
    ),
  );
  return card('All flags', field('Search', search, 'Matches id, key, description and tags.'), count, flags.length ? table : null);
}

function searchText(flag) {
  return [flag.id, flag.key, flag.description, ...flag.tags.map((tag) => tag.value)].join(' ').toLowerCase();
}

function flagRow(flag, problems, states) {
  return h(
    'tr',
    {},
    h('td', { class: 'num' }, flag.id),
    h('td', {}, h('a', { href: `#/flags/${flag.id}`, class: 'mono' }, flag.key || `flag ${flag.id}`)),
    h('td', {}, flag.description),
    h('td', {}, h('span', { class: 'tags' }, flag.tags.map((tag) => h('span', { class: 'tag' }, tag.value)))),
    h('td', {}, flag.enabled ? badge('on', 'ok') : badge('off', 'off'), ' ', problemBadge(problems)),
    states ? h('td', {}, environmentStates(flag, states)) : null,
    h('td', {}, timeEl(flag.updatedAt), flag.updatedBy ? h('span', { class: 'muted' }, ` by ${flag.updatedBy}`) : null),
  );
}

function deletedCard() {
  const content = h('div', {}, h('p', { class: 'muted' }, 'Loading…'));
  const errors = errorSlot();
  const load = async () => {
    const flags = await api.get('/flags?deleted=true');
    if (!flags.length) {
      replaceChildren(content, h('p', { class: 'muted' }, 'No deleted flags.'));
      return;
    }
    replaceChildren(
      content,
      h(
        'ul',
        { class: 'plain-list' },
        flags.map((flag) =>
          h(
            'li',
            { class: 'list-row' },
            h('span', {}, h('span', { class: 'mono' }, flag.key), ' ', h('span', { class: 'muted' }, flag.description)),
            may('editor') &&
              h(
                'button',
                {
                  type: 'button',
                  class: 'button small',
                  'aria-label': `Restore ${flag.key}`,
                  on: {
                    click: (event) =>
                      run(event.currentTarget, errors, async () => {
                        await api.put(`/flags/${flag.id}/restore`);
                        location.hash = `#/flags/${flag.id}`;
                      }),
                  },
                },
                'Restore',
              ),
          ),
        ),
      ),
    );
  };
  const details = h(
    'details',
    { class: 'card deleted' },
    h('summary', {}, h('h2', {}, 'Deleted flags')),
    h('p', { class: 'help' }, 'Deleted flags no longer evaluate; their keys stay reserved until restored.'),
    errors,
    content,
  );
  details.addEventListener('toggle', () => {
    if (details.open) run(null, errors, load);
  });
  return details;
}
