// flag.js — the flag page (#/flags/{id}): the header (enable switch, duplicate, delete), the
// tabs, and on the Configuration tab the flag's properties and tags. Variants, segments, the
// evaluate console, the history and the environment comparison live in their own modules. After
// every save the page re-reads the flag and swaps each section in place (dom.swap keeps focus and
// unsaved edits). A flag the current environment lacks gets a page saying so.

import { api } from './api.js';
import { currentEnvironment } from './environments.js';
import { editable } from './session.js';
import { h, markSaved, replaceChildren, swap, timeEl } from './dom.js';
import { card, checkbox, confirmDanger, dialog, errorSlot, field, run } from './widgets.js';
import { variantsCard } from './variants.js';
import { segmentOrderUnsaved, segmentsCard } from './segments.js';
import { evaluatePanel } from './evaluate.js';
import { historyPanel } from './history.js';
import { comparePanel } from './compare.js';

const TABS = [
  ['config', 'Configuration', ''],
  ['evaluate', 'Evaluate', '/evaluate'],
  ['history', 'History', '/history'],
  ['compare', 'Compare environments', '/compare'],
];

export async function flagPage(page, id, tab) {
  let flag;
  try {
    flag = await api.get(`/flags/${id}`);
  } catch (error) {
    if (error.status !== 404) throw error;
    missingFlag(page, id, error);
    return;
  }
  const ctx = { id, flag, sections: [] };
  if (tab === 'config') {
    [ctx.entityTypes, ctx.allTags] = await Promise.all([api.get('/flags/entity_types'), api.get('/tags')]);
  }
  /** Re-reads the flag and re-renders every section. */
  ctx.refresh = async () => {
    ctx.flag = await api.get(`/flags/${id}`);
    ctx.rerender();
  };
  /** Re-renders every section from `ctx` (after a refresh or a local change such as a move). */
  ctx.rerender = () => {
    page.title(ctx.flag.key);
    ctx.sections = ctx.sections.map(({ element, build }) => ({ element: swap(element, build(ctx)), build }));
  };
  const section = (build) => {
    const element = build(ctx);
    ctx.sections.push({ element, build });
    return element;
  };
  page.title(ctx.flag.key);
  page.guard(() => (segmentOrderUnsaved(ctx) ? 'The new segment order is not saved yet: leaving the page drops it.' : null));
  const body =
    tab === 'config'
      ? [section(propertiesCard), section(tagsCard), section(variantsCard), section(segmentsCard)]
      : tab === 'evaluate'
        ? section(evaluatePanel)
        : tab === 'compare'
          ? await comparePanel(ctx)
          : await historyPanel(ctx);
  replaceChildren(
    page.root,
    section(header),
    tabs(id, tab),
    h('div', { class: 'tab-body' }, body),
  );
}

/** The flag is not in this environment (switched to one that lacks it, or an old link). */
function missingFlag(page, id, error) {
  const environment = currentEnvironment();
  page.title('Flag not here');
  replaceChildren(
    page.root,
    h('h1', {}, `No flag ${id} in ${environment.name}`),
    h('p', { class: 'notice' }, `The ${environment.name} environment has no flag with ID ${id} (the server says: ${error.message}). It may exist in another environment: switch above, or promote it here from there.`),
    h('p', {}, h('a', { href: '#/' }, `Go to the flags of ${environment.name}`)),
  );
}

function tabs(id, current) {
  return h(
    'nav',
    { class: 'tabs', 'aria-label': 'Flag views' },
    TABS.map(([name, label, suffix]) =>
      h('a', { href: `#/flags/${id}${suffix}`, 'aria-current': name === current ? 'page' : null }, label),
    ),
  );
}

function header(ctx) {
  const { flag } = ctx;
  const errors = errorSlot();
  const enabled = h('input', {
    type: 'checkbox',
    role: 'switch',
    id: 'flag-enabled',
    checked: flag.enabled,
    on: {
      change: (event) =>
        run(event.currentTarget, errors, async () => {
          try {
            await api.put(`/flags/${flag.id}/enabled`, { enabled: event.target.checked });
          } catch (error) {
            event.target.checked = !event.target.checked;
            throw error;
          }
          await ctx.refresh();
        }),
    },
  });
  const duplicate = async (event) => {
    const values = await dialog({
      title: `Duplicate ${flag.key}`,
      message: 'The copy gets the same variants, segments, constraints, distributions and tags.',
      fields: [
        { name: 'key', label: 'Key of the copy', help: 'Leave empty for a random key.' },
        { name: 'description', label: 'Description', value: `${flag.description} (copy)` },
      ],
      confirmLabel: 'Duplicate',
    });
    if (!values) return;
    await run(event.target, errors, async () => {
      const copy = await api.post(`/flags/${flag.id}/duplicate`, values);
      location.hash = `#/flags/${copy.id}`;
    });
  };
  const remove = async (event) => {
    const confirmed = await confirmDanger(
      `Delete ${flag.key}?`,
      'It stops evaluating at once: clients get no variant. You can restore it from “Deleted flags” on the Flags page.',
      'Delete flag',
    );
    if (!confirmed) return;
    await run(event.target, errors, async () => {
      await api.delete(`/flags/${flag.id}`);
      location.hash = '#/';
    });
  };
  return h(
    'div',
    { class: 'flag-head' },
    h(
      'div',
      { class: 'flag-title' },
      h('nav', { class: 'crumbs', 'aria-label': 'Breadcrumb' }, h('a', { href: '#/' }, 'Flags'), ` / ${flag.key}`),
      h('h1', { class: 'mono' }, flag.key),
      h('p', { class: 'lead' }, flag.description),
      h('p', { class: 'muted small' }, `ID ${flag.id} · updated `, timeEl(flag.updatedAt), flag.updatedBy ? ` by ${flag.updatedBy}` : ''),
    ),
    editable(
      h(
        'div',
        { class: 'flag-actions' },
        h('label', { class: 'switch', for: 'flag-enabled' }, enabled, h('span', {}, 'Enabled')),
        h('button', { type: 'button', class: 'button', on: { click: duplicate } }, 'Duplicate'),
        h('button', { type: 'button', class: 'button danger', on: { click: remove } }, 'Delete'),
      ),
    ),
    errors,
    flag.enabled
      ? null
      : h('p', { class: 'notice' }, 'This flag is off: every evaluation returns no variant. Switch it on when it is ready.'),
  );
}

function propertiesCard(ctx) {
  const { flag } = ctx;
  const key = h('input', { id: 'flag-key', value: flag.key || '', class: 'mono', autocomplete: 'off', spellcheck: 'false' });
  const description = h('input', { id: 'flag-description', value: flag.description, autocomplete: 'off' });
  const entityType = h('input', { id: 'flag-entity-type', value: flag.entityType || '', list: 'entity-types', autocomplete: 'off' });
  const notes = h('textarea', { id: 'flag-notes', rows: 3, value: flag.notes || '' });
  const errors = errorSlot();
  const form = h(
    'form',
    {
      on: {
        submit: (event) => {
          event.preventDefault();
          run(event.submitter, errors, async () => {
            if (!key.value.trim()) throw new Error('The key cannot be empty: clients use it to ask for the flag.');
            if (!description.value.trim()) throw new Error('The description cannot be empty.');
            await api.put(`/flags/${flag.id}`, {
              key: key.value.trim(),
              description: description.value.trim(),
              entityType: entityType.value.trim(),
              notes: notes.value,
              dataRecordsEnabled: form.querySelector('#flag-data-records').checked,
            });
            markSaved(form);
            const type = entityType.value.trim();
            if (type && !ctx.entityTypes.includes(type)) ctx.entityTypes = [...ctx.entityTypes, type].sort();
            await ctx.refresh();
          });
        },
      },
    },
    h(
      'div',
      { class: 'row' },
      field('Key', key, `Clients ask for the flag by this key (or by ID ${flag.id}). Renaming breaks clients using the old key.`),
      field('Description', description),
    ),
    h(
      'div',
      { class: 'row' },
      field(
        'Entity type',
        entityType,
        'The kind of thing evaluated (user, device, account…). Pick one or type a new one; it overrides the entity type of requests.',
      ),
      h(
        'div',
        { class: 'field' },
        checkbox('flag-data-records', 'Data records (Flagr’s setting; Bunting records nothing)', flag.dataRecordsEnabled),
        h(
          'small',
          { class: 'help' },
          'Bunting has no data recorder: this is only kept, exported and copied with the flag, and adds ',
          h('code', {}, 'dataRecordsEnabled: true'),
          ' to this flag’s evaluation results for clients that read it.',
        ),
      ),
    ),
    h('datalist', { id: 'entity-types' }, ctx.entityTypes.map((type) => h('option', { value: type }))),
    field('Notes', notes, 'Anything your team should know: owner, rollout plan, clean-up date.'),
    h('div', { class: 'actions' }, h('button', { type: 'submit', class: 'button primary' }, 'Save flag')),
    errors,
  );
  return editable(card('Flag', form));
}

function tagsCard(ctx) {
  const { flag } = ctx;
  const errors = errorSlot();
  const value = h('input', { id: 'tag-value', list: 'tag-suggestions', autocomplete: 'off' });
  const attached = new Set(flag.tags.map((tag) => tag.value));
  const suggestions = ctx.allTags.filter((tag) => !attached.has(tag.value));
  const remove = (tag) => (event) =>
    run(event.currentTarget, errors, async () => {
      await api.delete(`/flags/${flag.id}/tags/${tag.id}`);
      await ctx.refresh();
      document.getElementById('tag-value')?.focus();
    });
  const form = h(
    'form',
    {
      class: 'inline-form',
      on: {
        submit: (event) => {
          event.preventDefault();
          run(event.submitter, errors, async () => {
            if (!value.value.trim()) throw new Error('Type a tag first.');
            const tag = await api.post(`/flags/${flag.id}/tags`, { value: value.value.trim() });
            if (!ctx.allTags.some((known) => known.id === tag.id)) ctx.allTags.push(tag);
            value.value = '';
            markSaved(form);
            await ctx.refresh();
          });
        },
      },
    },
    field('Add a tag', value, 'Letters, digits, spaces and _ - / . : — existing tags are suggested as you type.'),
    h('datalist', { id: 'tag-suggestions' }, suggestions.map((tag) => h('option', { value: tag.value }))),
    h('button', { type: 'submit', class: 'button' }, 'Add tag'),
  );
  return editable(
    card(
      'Tags',
      flag.tags.length
        ? h(
            'ul',
            { class: 'tags', 'aria-label': 'Tags of this flag' },
            flag.tags.map((tag) =>
              h(
                'li',
                { class: 'tag' },
                tag.value,
                h('button', { type: 'button', class: 'tag-remove', 'aria-label': `Remove tag ${tag.value}`, title: 'Remove', on: { click: remove(tag) } }, '×'),
              ),
            ),
          )
        : h('p', { class: 'muted' }, 'No tags. Tags group flags for search and for batch evaluation by tag.'),
      form,
      errors,
    ),
  );
}
