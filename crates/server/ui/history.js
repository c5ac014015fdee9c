// history.js — the History tab of the flag page: the flag's change log (GET /changes?flag_id=),
// newest first, each entry with who, when, which events on which component, and a readable
// before → after diff; older entries load on demand. The Audit log page (audit.js) shows its
// entries with the same parts.

import { api, query } from './api.js';
import { h, prettyJson, timeEl } from './dom.js';
import { codeBlock, errorSlot, run } from './widgets.js';
import { diff, showValue } from './diff.js';

const PAGE = 20;

export async function historyPanel(ctx) {
  const list = h('ol', { class: 'changes', 'aria-label': 'Changes, newest first' });
  const errors = errorSlot();
  const more = h('button', { type: 'button', class: 'button' }, 'Load older changes');
  let oldest = null;
  const load = async () => {
    // One change more than a page says whether anything older is left, so the button shows
    // only when it has something to load.
    const changes = await api.get(`/changes${query({ flag_id: ctx.id, limit: PAGE + 1, before: oldest })}`);
    const page = changes.slice(0, PAGE);
    list.append(...page.map((change) => h('li', {}, changeView(change))));
    if (page.length) oldest = page[page.length - 1].sequence;
    more.hidden = changes.length <= PAGE;
  };
  more.addEventListener('click', () => run(more, errors, load));
  await load();
  return h(
    'section',
    { class: 'history', 'aria-label': 'History' },
    list.children.length ? list : h('p', { class: 'muted' }, 'No changes recorded for this flag.'),
    more,
    errors,
  );
}

function changeView(change) {
  return h(
    'article',
    { class: 'change', 'data-sequence': change.sequence },
    h(
      'header',
      { class: 'change-head' },
      h('span', { class: 'seq' }, `#${change.sequence}`),
      timeEl(change.timestamp),
      h('span', {}, 'by ', actorEl(change.actor)),
    ),
    eventsList(change),
    changeDiff(change),
  );
}

/** Who made a change; no identity source configured means nobody is named. */
export function actorEl(actor) {
  return actor ? h('strong', {}, actor) : h('span', { class: 'muted', title: 'No identity source is configured' }, 'anonymous');
}

/**
 * A change's events, each with the component it touched: a list, or (`inline`, inside a line
 * such as an entry's summary, where only phrasing content belongs) spans that look the same.
 */
export function eventsList(change, inline = false) {
  const [list, item] = inline ? ['span', 'span'] : ['ul', 'li'];
  return h(
    list,
    { class: 'events' },
    change.events.map(({ event, component }) =>
      h(item, {}, h('code', {}, event), component ? h('span', { class: 'muted' }, ` on ${componentLabel(component)}`) : null),
    ),
  );
}

/**
 * What a change did to the document it holds (a flag; for webhook and environment changes, their
 * settings): the readable before → after diff, then both documents in full on demand.
 */
export function changeDiff(change) {
  const created = change.previous === null || change.previous === undefined;
  const rows = created ? [] : diff(change.previous, change.data);
  const subject = change.flag_key === null ? change.events[0]?.component?.type || 'object' : 'flag';
  return [
    created
      ? h('p', {}, `Created the ${subject}.`)
      : rows.length
        ? diffTable(rows)
        : h('p', { class: 'muted' }, `No visible difference in the ${subject} document.`),
    h(
      'details',
      {},
      h('summary', {}, `Full ${subject} before and after`),
      h(
        'div',
        { class: 'before-after' },
        h('div', {}, h('h4', {}, 'Before'), created ? h('p', { class: 'muted' }, 'Did not exist.') : codeBlock(prettyJson(change.previous), 'Before')),
        h('div', {}, h('h4', {}, 'After'), codeBlock(prettyJson(change.data), 'After')),
      ),
    ),
  ];
}

function componentLabel(component) {
  return `${component.type}${component.id !== null && component.id !== undefined ? ` #${component.id}` : ''}${component.key ? ` “${component.key}”` : ''}`;
}

function diffTable(rows) {
  return h(
    'div',
    { class: 'table-wrap' },
    h(
      'table',
      { class: 'table diff' },
      h('thead', {}, h('tr', {}, h('th', { scope: 'col' }, 'What changed'), h('th', { scope: 'col' }, 'Before'), h('th', { scope: 'col' }, 'After'))),
      h(
        'tbody',
        {},
        rows.map((row) =>
          h(
            'tr',
            {},
            h('th', { scope: 'row' }, row.path.join(' › ') || 'flag'),
            h('td', { class: row.before === undefined ? 'absent' : 'old' }, h('code', {}, showValue(row.before))),
            h('td', { class: row.after === undefined ? 'absent' : 'new' }, h('code', {}, showValue(row.after))),
          ),
        ),
      ),
    ),
  );
}
