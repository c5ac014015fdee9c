// variants.js — the Variants card of the flag page: rename, edit the JSON attachment (refused in
// the browser unless it is a JSON object), delete, and add variants.

import { api } from './api.js';
import { h, markSaved } from './dom.js';
import { card, confirmDanger, errorSlot, field, run } from './widgets.js';
import { editable, may } from './session.js';

export function variantsCard(ctx) {
  const { flag } = ctx;
  return editable(
    card(
      'Variants',
      h('p', { class: 'help' }, 'What an evaluation hands out. The optional attachment is a JSON object sent along with the variant (settings, copy, colours…).'),
      flag.variants.length
        ? h('div', { class: 'variants' }, flag.variants.map((variant) => variantForm(ctx, variant)))
        : h('p', { class: 'muted' }, 'No variants yet: add one below, then give it a share of a segment’s distribution.'),
      may('editor') ? newVariantForm(ctx) : null,
    ),
  );
}

/** Parses attachment text: `{value}` for a JSON object (empty text is `{}`), else `{error}`. */
export function parseAttachment(text) {
  if (!text.trim()) return { value: {} };
  let value;
  try {
    value = JSON.parse(text);
  } catch (error) {
    return { error: `This is not valid JSON: ${error.message}` };
  }
  if (value === null || typeof value !== 'object' || Array.isArray(value)) {
    return { error: 'The attachment must be a JSON object, like {"color": "blue"}.' };
  }
  return { value };
}

/** An attachment textarea that checks itself as the user types and disables `save` while wrong. */
function attachmentField(id, value, save) {
  const area = h('textarea', { id, rows: 3, class: 'mono', spellcheck: 'false', value });
  const problem = h('p', { class: 'error', id: `${id}-problem`, role: 'status', hidden: true });
  const check = () => {
    const { error } = parseAttachment(area.value);
    problem.textContent = error || '';
    problem.hidden = !error;
    area.setAttribute('aria-invalid', String(Boolean(error)));
    save.disabled = Boolean(error);
  };
  area.addEventListener('input', check);
  const wrapper = field('Attachment (JSON object)', area);
  wrapper.append(problem);
  area.setAttribute('aria-describedby', problem.id);
  return { wrapper, area };
}

function variantForm(ctx, variant) {
  const { flag } = ctx;
  const prefix = `variant-${variant.id}`;
  const errors = errorSlot();
  const key = h('input', { id: `${prefix}-key`, value: variant.key, class: 'mono', autocomplete: 'off', spellcheck: 'false' });
  const save = h('button', { type: 'submit', class: 'button' }, 'Save variant');
  const attachment = attachmentField(`${prefix}-attachment`, JSON.stringify(variant.attachment ?? {}, null, 2), save);
  const remove = async (event) => {
    const confirmed = await confirmDanger(
      `Delete variant ${variant.key}?`,
      'Evaluations stop handing it out. A variant that still has a share of a distribution cannot be deleted: set its share to 0 first.',
      'Delete variant',
    );
    if (!confirmed) return;
    await run(event.target, errors, async () => {
      await api.delete(`/flags/${flag.id}/variants/${variant.id}`);
      await ctx.refresh();
    });
  };
  const form = h(
    'form',
    {
      class: 'variant',
      'data-variant': variant.key,
      'aria-label': `Variant ${variant.key}`,
      on: {
        submit: (event) => {
          event.preventDefault();
          run(event.submitter, errors, async () => {
            const parsed = parseAttachment(attachment.area.value);
            if (parsed.error) throw new Error(parsed.error);
            await api.put(`/flags/${flag.id}/variants/${variant.id}`, { key: key.value.trim(), attachment: parsed.value });
            markSaved(form);
            await ctx.refresh();
          });
        },
      },
    },
    field('Key', key),
    attachment.wrapper,
    h(
      'div',
      { class: 'actions' },
      save,
      h('button', { type: 'button', class: 'button danger', on: { click: remove } }, 'Delete variant'),
      h('span', { class: 'muted small' }, `ID ${variant.id}`),
    ),
    errors,
  );
  return form;
}

function newVariantForm(ctx) {
  const { flag } = ctx;
  const errors = errorSlot();
  const key = h('input', { id: 'new-variant-key', class: 'mono', autocomplete: 'off', spellcheck: 'false', placeholder: 'e.g. treatment' });
  const add = h('button', { type: 'submit', class: 'button primary' }, 'Add variant');
  const attachment = attachmentField('new-variant-attachment', '{}', add);
  const form = h(
    'form',
    {
      class: 'variant new',
      'aria-label': 'New variant',
      on: {
        submit: (event) => {
          event.preventDefault();
          run(event.submitter, errors, async () => {
            const parsed = parseAttachment(attachment.area.value);
            if (parsed.error) throw new Error(parsed.error);
            if (!key.value.trim()) throw new Error('Give the variant a key.');
            await api.post(`/flags/${flag.id}/variants`, { key: key.value.trim(), attachment: parsed.value });
            key.value = '';
            attachment.area.value = '{}';
            markSaved(form);
            await ctx.refresh();
            document.getElementById('new-variant-key')?.focus();
          });
        },
      },
    },
    h('h3', {}, 'New variant'),
    field('Key', key, 'Letters, digits and _ - / . : (at most 63).'),
    attachment.wrapper,
    h('div', { class: 'actions' }, add),
    errors,
  );
  return form;
}
