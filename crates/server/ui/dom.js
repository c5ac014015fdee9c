// dom.js — the tiny DOM toolkit every page uses: build elements from data (never innerHTML, so
// user text is always text), swap a re-rendered section in while keeping focus and unsaved edits,
// and show times.

/** Element properties set as properties (the rest become attributes). */
const PROPERTIES = new Set(['value', 'checked', 'disabled', 'selected', 'indeterminate', 'open']);

/**
 * Builds an element. `props`: `class`, `on: {event: handler}`, the properties above, and any
 * attribute (`id`, `for`, `aria-*`, `data-*`...); null, undefined and false are skipped.
 * Children: nodes, strings (as text), numbers, arrays of them; null and false are skipped.
 */
export function h(tag, props, ...children) {
  const el = document.createElement(tag);
  append(el, children);
  for (const [name, value] of Object.entries(props || {})) {
    if (value === undefined || value === null || value === false) continue;
    if (name === 'class') el.className = value;
    else if (name === 'on') for (const [event, handler] of Object.entries(value)) el.addEventListener(event, handler);
    else if (PROPERTIES.has(name)) el[name] = value;
    else el.setAttribute(name, value === true ? '' : String(value));
  }
  return el;
}

/** Appends children as `h` does. */
export function append(el, children) {
  for (const child of [children].flat(Infinity)) {
    if (child === null || child === undefined || child === false) continue;
    el.append(child instanceof Node ? child : document.createTextNode(String(child)));
  }
  return el;
}

/** Replaces an element's children. */
export function replaceChildren(el, ...children) {
  el.replaceChildren();
  return append(el, children);
}

// Fields the user changed and has not saved yet are marked, so a re-render elsewhere on the page
// does not throw their edit away (see `swap`). A form clears the mark when it saves (`markSaved`).
document.addEventListener('input', (event) => {
  if (event.target.id) event.target.dataset.dirty = '1';
});

/** Forgets the unsaved marks of the fields inside `container` (after a successful save). */
export function markSaved(container) {
  for (const field of container.querySelectorAll('[data-dirty]')) delete field.dataset.dirty;
}

/**
 * Puts `next` in place of `current`. Fields with the same id keep the user's unsaved value, and
 * the focused control keeps the focus (found again by id, else by its place in the tree), so
 * saving one part of a page disturbs no other and keyboard users stay where they were.
 */
export function swap(current, next) {
  const focused = current.contains(document.activeElement) ? document.activeElement : null;
  const focusPath = focused && !focused.id ? pathOf(current, focused) : null;
  const restored = [];
  for (const field of current.querySelectorAll('[data-dirty][id]')) {
    const twin = next.querySelector(`#${CSS.escape(field.id)}`);
    if (!twin || twin.tagName !== field.tagName) continue;
    if (field.type === 'checkbox' || field.type === 'radio') twin.checked = field.checked;
    else twin.value = field.value;
    twin.dataset.dirty = '1';
    restored.push(twin);
  }
  current.replaceWith(next);
  // Let the restored fields' own listeners recompute what depends on them (sums, validity).
  for (const field of restored) field.dispatchEvent(new Event('input', { bubbles: true }));
  const target = focused?.id ? document.getElementById(focused.id) : focusPath && atPath(next, focusPath);
  target?.focus();
  return next;
}

/** The child indexes leading from `root` down to `el`. */
function pathOf(root, el) {
  const path = [];
  for (let node = el; node !== root; node = node.parentElement) path.unshift([...node.parentElement.children].indexOf(node));
  return path;
}

function atPath(root, path) {
  return path.reduce((node, index) => node?.children[index], root);
}

/** A `<time>` showing a timestamp in local time and its zone, with the exact value and age on hover. */
export function timeEl(iso) {
  if (!iso) return h('span', { class: 'muted' }, '—');
  const date = new Date(iso);
  if (Number.isNaN(date.getTime())) return h('span', {}, iso);
  return h('time', { datetime: iso, title: `${iso} (${ago(date)})` }, formatDate(date));
}

/**
 * "2026-12-01 15:45:30 UTC+05:30" in local time, saying its offset from UTC ("UTC" alone when
 * there is none): a bare local time is ambiguous to a team spread over zones, and the offset
 * is what the API's UTC timestamps are compared with.
 */
export function formatDate(date) {
  const pad = (n) => String(n).padStart(2, '0');
  const offset = -date.getTimezoneOffset();
  const zone = offset === 0 ? 'UTC' : `UTC${offset < 0 ? '-' : '+'}${pad(Math.floor(Math.abs(offset) / 60))}:${pad(Math.abs(offset) % 60)}`;
  return (
    `${date.getFullYear()}-${pad(date.getMonth() + 1)}-${pad(date.getDate())} ` +
    `${pad(date.getHours())}:${pad(date.getMinutes())}:${pad(date.getSeconds())} ${zone}`
  );
}

/** "3 minutes ago", "in 10 seconds". */
export function ago(date) {
  const seconds = Math.round((date.getTime() - Date.now()) / 1000);
  const units = [
    ['day', 86400],
    ['hour', 3600],
    ['minute', 60],
    ['second', 1],
  ];
  const [unit, size] = units.find(([, size]) => Math.abs(seconds) >= size) || units[3];
  return new Intl.RelativeTimeFormat('en', { numeric: 'auto' }).format(Math.round(seconds / size), unit);
}

/** Pretty-printed JSON text; text that is not JSON is returned as it is. */
export function prettyJson(value) {
  if (typeof value === 'string') {
    try {
      return JSON.stringify(JSON.parse(value), null, 2);
    } catch {
      return value;
    }
  }
  return JSON.stringify(value, null, 2);
}
