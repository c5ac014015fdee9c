// compare.js — the flag page's "Compare environments" tab (#/flags/{id}/compare): the flag in
// every environment side by side (GET /compare/{key}: enabled, segments and rollout,
// distribution, last change), and "Promote to…", which copies the flag from the current
// environment into another. Promotion always shows its dry run first — the sentences the server
// says the change would make — and writes only when the user confirms that preview.

import { api } from './api.js';
import { h, replaceChildren, timeEl } from './dom.js';
import { currentEnvironment, environmentChip, environments } from './environments.js';
import { badge, card, clearError, errorSlot, field, run } from './widgets.js';
import { may } from './session.js';

export async function comparePanel(ctx) {
  const table = h('div', {}, compareTable(await compare(ctx.flag.key)));
  const reload = async () => replaceChildren(table, compareTable(await compare(ctx.flag.key)));
  return h(
    'div',
    { class: 'compare' },
    card(
      'Compare environments',
      h('p', { class: 'help' }, `The flag ${ctx.flag.key} in every environment. It has the same ID everywhere; the rest is set per environment.`),
      table,
    ),
    may('editor') ? promoteCard(ctx, reload) : null,
  );
}

function compare(key) {
  return api.get(`/compare/${encodeURIComponent(key)}`);
}

/** The environment as the switcher knows it (with `default`), else as the comparison names it. */
function known(environment) {
  return environments().find((candidate) => candidate.key === environment.key) || environment;
}

function compareTable(comparison) {
  const here = currentEnvironment().key;
  return h(
    'div',
    { class: 'table-wrap' },
    h(
      'table',
      { class: 'table compare-table' },
      h('caption', { class: 'offscreen' }, `${comparison.key} in every environment`),
      h('thead', {}, h('tr', {}, ['Environment', 'Enabled', 'Segments', 'Distribution', 'Last change'].map((name) => h('th', { scope: 'col' }, name)))),
      h(
        'tbody',
        {},
        comparison.environments.map((entry) =>
          h(
            'tr',
            { 'data-environment': entry.environment.key },
            h('th', { scope: 'row' }, environmentChip(known(entry.environment)), entry.environment.key === here ? h('div', { class: 'muted small' }, 'you are here') : null),
            entry.flag && !entry.deleted ? flagCells(entry.flag) : absentCells(entry),
            h('td', {}, lastChange(entry.lastChange)),
          ),
        ),
      ),
    ),
  );
}

function flagCells(flag) {
  const name = (segment) => segment.description || `Segment ${segment.id}`;
  const segments = flag.segments.length
    ? [
        `${flag.segments.length} segment${flag.segments.length === 1 ? '' : 's'}`,
        h('ul', { class: 'plain-list small' }, flag.segments.map((segment) => h('li', {}, `${name(segment)}: ${segment.rolloutPercent}% rollout`))),
      ]
    : h('span', { class: 'muted' }, 'none');
  const distribution = flag.segments.length
    ? h(
        'ul',
        { class: 'plain-list small' },
        flag.segments.map((segment) =>
          h(
            'li',
            {},
            segment.distributions.length
              ? segment.distributions.map((share) => `${share.variantKey} ${share.percent}%`).join(' · ')
              : h('span', { class: 'muted' }, 'no distribution'),
          ),
        ),
      )
    : h('span', { class: 'muted' }, '—');
  return [h('td', {}, flag.enabled ? badge('on', 'ok') : badge('off', 'off')), h('td', {}, segments), h('td', {}, distribution)];
}

/** A flag the environment lacks, or has deleted (the comparison still holds its last state). */
function absentCells(entry) {
  const content = entry.deleted
    ? [badge('deleted', 'warn'), ' ', h('span', { class: 'muted' }, 'Restore it from the Flags page of this environment to use it again.')]
    : h('span', { class: 'muted' }, 'Not in this environment');
  return [h('td', { colspan: 3 }, content)];
}

function lastChange(change) {
  if (!change) return h('span', { class: 'muted' }, '—');
  return [
    h('div', {}, change.actor ? h('strong', {}, change.actor) : h('span', { class: 'muted' }, 'anonymous'), ', ', timeEl(change.timestamp)),
    h('div', { class: 'small' }, change.events.map((event) => h('code', { class: 'tag' }, event))),
  ];
}

/** "Promote to…": pick a target, see the dry run, confirm; `promoted()` runs after a write. */
function promoteCard(ctx, promoted) {
  const source = currentEnvironment();
  const targets = environments().filter((environment) => environment.key !== source.key);
  if (!targets.length) {
    return card('Promote to…', h('p', { class: 'muted' }, 'There is no other environment to promote this flag to.'));
  }
  const preferred = source.default ? targets[0] : targets.find((environment) => environment.default) || targets[0];
  const target = h(
    'select',
    { id: 'promote-target' },
    targets.map((environment) => h('option', { value: environment.key, selected: environment === preferred }, environment.default ? `${environment.name} (default)` : environment.name)),
  );
  const preview = h('div', { class: 'promote-preview', 'aria-live': 'polite' });
  const errors = errorSlot();
  const request = (environment, dryRun) =>
    api.post(`/environments/${encodeURIComponent(environment.key)}/promote`, { from: source.key, flags: [ctx.flag.key], dryRun });
  // A preview belongs to the target it was made for: another target needs its own.
  target.addEventListener('change', () => {
    replaceChildren(preview);
    clearError(errors);
  });
  const form = h(
    'form',
    {
      class: 'inline-form',
      on: {
        submit: (event) => {
          event.preventDefault();
          run(event.submitter, errors, async () => {
            const destination = targets.find((environment) => environment.key === target.value);
            const dryRun = await request(destination, true);
            const confirm = async (click) =>
              run(click.currentTarget, errors, async () => {
                const done = await request(destination, false);
                replaceChildren(preview, outcome(done.flags[0], source, destination));
                await promoted();
              });
            replaceChildren(preview, difference(dryRun.flags[0], source, destination, confirm));
            preview.querySelector('button')?.focus();
          });
        },
      },
    },
    field('Target environment', target, `Copies this flag’s whole configuration from ${source.name} to the environment you pick.`),
    h('button', { type: 'submit', class: 'button' }, 'Show the changes'),
  );
  return card('Promote to…', form, errors, preview);
}

/** What the promotion would change, with the button that does it. */
function difference(flag, source, target, confirm) {
  if (flag.action === 'unchanged') {
    return h('p', { class: 'notice' }, `Nothing to promote: ${target.name} already has ${flag.key} as ${source.name} has it.`);
  }
  const button = h(
    'button',
    { type: 'button', class: target.default ? 'button danger' : 'button primary', on: { click: confirm } },
    `Promote to ${target.name}`,
  );
  return h(
    'div',
    { class: 'promote-dry-run' },
    h(
      'h3',
      {},
      `Dry run: promoting ${flag.key} from ${source.name} to `,
      environmentChip(target),
      flag.action === 'create' ? ' would create it there' : ' would change',
    ),
    sentences(flag.changes),
    h('p', { class: 'help' }, target.default ? `${target.name} is the default environment: its clients see the change at once.` : 'Nothing has been written yet.'),
    h('div', { class: 'actions' }, button),
  );
}

function outcome(flag, source, target) {
  return h(
    'div',
    { class: 'notice', role: 'status' },
    h('p', {}, h('strong', {}, `Promoted ${flag.key} from ${source.name} to ${target.name}`), flag.action === 'unchanged' ? ': it already matched, nothing was written.' : ':'),
    sentences(flag.changes),
  );
}

function sentences(changes) {
  return h(
    'ul',
    { class: 'sentences' },
    changes.map((change) => h('li', {}, change.sentence, ' ', h('code', { class: 'muted small' }, change.event))),
  );
}
