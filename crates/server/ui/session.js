// session.js — who is using the UI. At start the UI asks GET /me: with authentication off the
// answer is an admin and nothing here shows. With API tokens on (BUNTING_AUTH=tokens) a 401 means
// signing in: the sign-in screen asks for a token, kept in sessionStorage (this tab, until the
// browser closes) and sent with every request (api.js); the top bar says who is signed in, with
// which role, and offers "Sign out". Pages leave out or lock what the role may not do (`may`,
// `editable`), so a viewer sees flags and webhooks without controls that would only be refused.

import { apiFor, token, useToken } from './api.js';
import { h, replaceChildren } from './dom.js';
import { errorSlot, field, run, showError } from './widgets.js';

const RANKS = { evaluator: 0, viewer: 1, editor: 2, admin: 3 };

/** GET /me's answer for the signed-in caller; null before the UI knows who it is. */
let me = null;

export function signedIn() {
  return me;
}

/** Whether the caller has `role` or a higher one. */
export function may(role) {
  return Boolean(me) && RANKS[me.role] >= RANKS[role];
}

/**
 * `element` as it is for editors; for anyone else locked (a disabled fieldset, whose buttons the
 * style sheet hides), so what it shows can still be read.
 */
export function editable(element) {
  if (may('editor')) return element;
  return h('fieldset', { class: 'plain read-only', disabled: true }, element);
}

/** Asks the server who the caller is; answers null (after forgetting the token) on a 401. */
export async function identify() {
  try {
    me = await apiFor(null).get('/me');
  } catch (error) {
    if (error.status !== 401) throw error;
    me = null;
    useToken(null);
    return { refused: error };
  }
  if (!may('viewer')) {
    const refused = new Error(`${me.name} has the ${me.role} role: it may evaluate flags but not read them. The UI needs a viewer token or above.`);
    me = null;
    useToken(null);
    return { refused };
  }
  return { refused: null };
}

/** Forgets the caller (signing out, or a 401: the token was revoked or expired). */
export function forget() {
  me = null;
  useToken(null);
}

/**
 * The sign-in screen in `root`, with `refusal` (the server's message) when there is one; calls
 * `signedInThen()` once the server accepts the token.
 */
export function signInScreen(root, refusal, signedInThen) {
  document.title = 'Sign in · Bunting';
  document.body.dataset.signedOut = '';
  const secret = h('input', { id: 'signin-token', type: 'password', autocomplete: 'off', spellcheck: 'false', required: true });
  const errors = errorSlot();
  if (refusal) showError(errors, refusal);
  const form = h(
    'form',
    {
      class: 'signin',
      on: {
        submit: (event) => {
          event.preventDefault();
          run(event.submitter, errors, async () => {
            if (!secret.value.trim()) throw new Error('Paste an API token first (bnt_…).');
            useToken(secret.value.trim());
            const { refused } = await identify();
            if (refused) throw refused;
            delete document.body.dataset.signedOut;
            await signedInThen();
          });
        },
      },
    },
    field('API token', secret, 'A token from “bunting token create” or from an admin (POST /api/v1/tokens). It is kept in this tab until the browser closes.'),
    h('div', { class: 'actions' }, h('button', { type: 'submit', class: 'button primary' }, 'Sign in')),
    errors,
  );
  replaceChildren(root, h('h1', {}, 'Sign in'), h('p', { class: 'lead' }, 'This Bunting asks for an API token.'), h('section', { class: 'card' }, form));
  secret.focus();
}

/**
 * Who is signed in, with their role, and "Sign out" (calls `onSignOut`; "Sign in" for an
 * anonymous caller the server lets read), in the top bar's `slot`; nothing when authentication
 * is off.
 */
export function renderWho(slot, caller, onSignOut) {
  if (!slot) return;
  if (!caller || caller.authentication !== 'tokens') {
    replaceChildren(slot);
    return;
  }
  const scope = caller.environments ? ` in ${caller.environments.join(', ')}` : '';
  replaceChildren(
    slot,
    h('span', { class: 'who-name', title: `Signed in as ${caller.name}, ${caller.role}${scope}` }, caller.name),
    ' ',
    h('span', { class: 'badge badge-info who-role' }, caller.role),
    h('button', { type: 'button', class: 'button small', on: { click: onSignOut } }, token() ? 'Sign out' : 'Sign in'),
  );
}
