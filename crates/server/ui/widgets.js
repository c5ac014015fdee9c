// widgets.js — the small components pages share: labelled fields, cards, badges, inline error
// slots with a runner that reports an action's failure where it happened, the modal dialog used
// to confirm destructive actions, and a copy button.

import { h } from './dom.js';

/** A label, its control and an optional help line, wired for screen readers. */
export function field(label, control, help) {
  const helpEl = help ? h('small', { class: 'help', id: `${control.id}-help` }, help) : null;
  if (helpEl) control.setAttribute('aria-describedby', helpEl.id);
  return h('div', { class: 'field' }, h('label', { for: control.id }, label), control, helpEl);
}

/** A checkbox with its label after it. */
export function checkbox(id, label, checked, props = {}) {
  return h(
    'label',
    { class: 'check', for: id },
    h('input', { type: 'checkbox', id, checked, ...props }),
    h('span', {}, label),
  );
}

/** A titled section. */
export function card(title, ...children) {
  const id = `card-${title.toLowerCase().replace(/[^a-z0-9]+/g, '-')}`;
  return h('section', { class: 'card', 'aria-labelledby': id }, h('h2', { id }, title), children);
}

/** A status pill; tone is ok, warn, bad, info or off. */
export function badge(text, tone = 'off') {
  return h('span', { class: `badge badge-${tone}` }, text);
}

const DELIVERY_TONES = { delivered: 'ok', pending: 'warn', failed: 'bad' };

/** A delivery's status as a badge. */
export function deliveryBadge(status) {
  return badge(status, DELIVERY_TONES[status] || 'off');
}

/** Pretty JSON (or any text) in a scrollable block. */
export function codeBlock(text, label) {
  return h('pre', { class: 'code', tabindex: 0, 'aria-label': label }, h('code', {}, text));
}

/** An empty place for an error message, shown where the action that failed is. */
export function errorSlot() {
  return h('p', { class: 'error', role: 'alert', hidden: true });
}

export function showError(slot, error) {
  slot.textContent = error?.message || String(error);
  slot.hidden = false;
}

export function clearError(slot) {
  slot.textContent = '';
  slot.hidden = true;
}

let running = 0;

/** Counts actions in flight; the page is `aria-busy` while any runs (and shows a busy cursor). */
function busy(change) {
  running += change;
  if (running > 0) document.body.setAttribute('aria-busy', 'true');
  else document.body.removeAttribute('aria-busy');
}

/**
 * Runs an action started by `button`: marks the button busy (a second press is ignored), clears
 * `slot`, and shows a failure in `slot`. Resolves to true when the action succeeded.
 */
export async function run(button, slot, work) {
  if (button?.getAttribute('aria-busy') === 'true') return false;
  if (slot) clearError(slot);
  button?.setAttribute('aria-busy', 'true');
  busy(1);
  try {
    await work();
    return true;
  } catch (error) {
    if (slot && slot.isConnected) showError(slot, error);
    else showToast(error.message || String(error), 'bad');
    return false;
  } finally {
    button?.removeAttribute('aria-busy');
    busy(-1);
  }
}

/**
 * A modal dialog. Without `fields` it asks for confirmation and resolves to true or false; with
 * `fields` ([{name, label, value, help}]) it resolves to their values, or null when cancelled.
 */
export function dialog({ title, message, fields, confirmLabel, danger = false }) {
  const inputs = (fields || []).map((spec) =>
    field(spec.label, h('input', { id: `dialog-${spec.name}`, name: spec.name, value: spec.value || '' }), spec.help),
  );
  // Cancel is not a submit button, so Enter in a field confirms instead of cancelling.
  const cancel = h('button', { type: 'button', class: 'button', autofocus: !fields, on: { click: () => box.close('cancel') } }, 'Cancel');
  const confirm = h(
    'button',
    { type: 'submit', value: 'confirm', class: danger ? 'button danger' : 'button primary' },
    confirmLabel,
  );
  const titleId = 'dialog-title';
  const box = h(
    'dialog',
    { class: 'dialog', 'aria-labelledby': titleId },
    h(
      'form',
      { method: 'dialog' },
      h('h2', { id: titleId }, title),
      message ? h('p', {}, message) : null,
      inputs,
      h('div', { class: 'actions' }, cancel, confirm),
    ),
  );
  document.body.append(box);
  box.showModal();
  return new Promise((resolve) => {
    box.addEventListener('close', () => {
      const confirmed = box.returnValue === 'confirm';
      const values = Object.fromEntries((fields || []).map((spec) => [spec.name, box.querySelector(`[name=${spec.name}]`).value]));
      box.remove();
      if (!fields) resolve(confirmed);
      else resolve(confirmed ? values : null);
    });
  });
}

/** Asks before a destructive action; resolves to true when confirmed. */
export function confirmDanger(title, message, confirmLabel) {
  return dialog({ title, message, confirmLabel, danger: true });
}

/** A button copying `text()` to the clipboard and saying so. */
export function copyButton(text, label = 'Copy') {
  const status = h('span', { class: 'copy-status', 'aria-live': 'polite' });
  const button = h(
    'button',
    {
      type: 'button',
      class: 'button small',
      on: {
        click: async () => {
          const copied = await copyText(text());
          status.textContent = copied ? 'Copied' : 'Select the text and copy it by hand';
          setTimeout(() => (status.textContent = ''), 2500);
        },
      },
    },
    label,
  );
  return h('span', { class: 'copy' }, button, status);
}

async function copyText(text) {
  try {
    await navigator.clipboard.writeText(text);
    return true;
  } catch {
    // The clipboard API needs a secure context (https or localhost); fall back to a selection.
    const area = h('textarea', { class: 'offscreen', value: text, 'aria-hidden': 'true' });
    document.body.append(area);
    area.select();
    const copied = document.execCommand('copy');
    area.remove();
    return copied;
  }
}

/** A short message at the bottom of the screen, for results with no better place. */
export function showToast(message, tone = 'ok') {
  let region = document.getElementById('toasts');
  if (!region) {
    region = h('div', { id: 'toasts', class: 'toasts', role: 'status', 'aria-live': 'polite' });
    document.body.append(region);
  }
  const toast = h('p', { class: `toast toast-${tone}` }, message);
  region.append(toast);
  setTimeout(() => toast.remove(), 4000);
}
