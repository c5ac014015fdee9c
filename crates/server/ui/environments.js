// environments.js — which environment the UI works in. The choice is kept for the browser
// session (sessionStorage: each tab can work in its own), `api` sends to its base path, and it is
// always on screen: the top bar's switcher and the band above it carry the environment's colour,
// a hue derived from its key so it is the same on every page and every visit. The default
// environment (production, usually) is marked louder still — a filled switcher and a striped
// band — so nobody edits it thinking they are in staging.

import { apiFor, useEnvironment } from './api.js';
import { h, replaceChildren } from './dom.js';
import { signedIn } from './session.js';

const STORAGE_KEY = 'bunting.environment';

/** The live environments, the default first (as the server lists them). */
let known = [];
let current = null;

export function environments() {
  return known;
}

export function currentEnvironment() {
  return current;
}

/**
 * Re-reads the environments (another tab or user may have changed them) and takes the session's
 * choice, or the default environment when there is none. Answers the key of a chosen
 * environment that no longer exists, so the caller can say why the UI moved, else null.
 */
export async function loadEnvironments() {
  // A token limited to some environments sees only those.
  const allowed = signedIn()?.environments;
  known = (await apiFor(null).get('/environments')).filter((environment) => !allowed || allowed.includes(environment.key));
  const wanted = sessionStorage.getItem(STORAGE_KEY);
  const chosen = known.find((environment) => environment.key === wanted) || known.find((environment) => environment.default) || known[0];
  current = chosen;
  useEnvironment(chosen);
  if (!wanted || chosen?.key === wanted) return null;
  sessionStorage.removeItem(STORAGE_KEY); // said once; from now on the default is the choice
  return wanted;
}

/** Makes the environment with `key` the session's choice (the caller re-renders the page). */
export function chooseEnvironment(key) {
  sessionStorage.setItem(STORAGE_KEY, key);
  current = known.find((environment) => environment.key === key) || current;
  useEnvironment(current);
}

/**
 * A stable hue (0–359) for an environment key: FNV-1a's high bits (its low bits barely differ
 * between short keys: "production" and "staging" would both be blue).
 */
export function hue(key) {
  let hash = 0x811c9dc5;
  for (const char of key) {
    hash ^= char.codePointAt(0);
    hash = Math.imul(hash, 0x01000193) >>> 0;
  }
  return (hash >>> 16) % 360;
}

/**
 * Gives `element` the environment's colour: the `--env-hue` the `env-*` styles read (set through
 * the style object, which the page's Content-Security-Policy allows), and `env-default` on the
 * default environment.
 */
export function tint(element, environment) {
  element.style.setProperty('--env-hue', String(hue(environment.key)));
  element.classList.toggle('env-default', Boolean(environment.default));
  element.dataset.environment = environment.key;
  return element;
}

/** An environment's name with its colour dot; `extra` follows the name (a state, a note). */
export function environmentChip(environment, ...extra) {
  return tint(h('span', { class: 'env-chip' }, h('span', { class: 'env-dot', 'aria-hidden': 'true' }), h('span', {}, environment.name), extra), environment);
}

/**
 * Shows the switcher in `slot` (in the top bar) and colours the band; `onSwitch(key)` is called
 * when the user picks another environment.
 */
export function renderSwitcher(slot, band, onSwitch) {
  if (!current) return;
  const select = h(
    'select',
    { id: 'environment-select', on: { change: (event) => onSwitch(event.target.value) } },
    known.map((environment) =>
      h('option', { value: environment.key, selected: environment.key === current.key }, environment.default ? `${environment.name} (default)` : environment.name),
    ),
  );
  replaceChildren(
    slot,
    h('span', { class: 'env-dot', 'aria-hidden': 'true' }),
    h('label', { for: 'environment-select' }, 'Environment'),
    select,
  );
  tint(slot, current);
  slot.title = current.default
    ? `You are working in ${current.name}, the default environment: changes reach its clients at once.`
    : `You are working in ${current.name}.`;
  tint(band, current);
}
