// main.js — the entry point: hash routing (#/flags/1, #/webhooks/2, #/audit...), so the page works under
// any path prefix and every view has a link. Each route renders into a fresh container; a page
// registers clean-ups (timers) with `onLeave`, run when the user navigates away, and with `guard`
// what it would lose, so leaving (in the app or the browser) asks first. Switching the environment
// (top bar) re-renders the view in the chosen environment, asking first as leaving does. First of
// all the UI asks who the user is (session.js): with API tokens on and no valid token it shows
// the sign-in screen instead, and goes back to it on any later 401 (a revoked or expired token).

import { onUnauthorized, token } from './api.js';
import { h, replaceChildren } from './dom.js';
import { forget, identify, renderWho, signInScreen, signedIn } from './session.js';
import { confirmDanger, errorSlot, showError, showToast } from './widgets.js';
import { chooseEnvironment, currentEnvironment, environments, loadEnvironments, renderSwitcher } from './environments.js';
import { flagsPage } from './flags.js';
import { flagPage } from './flag.js';
import { webhooksPage, webhookPage, newWebhookPage } from './webhooks.js';
import { deliveryPage } from './deliveries.js';
import { auditPage } from './audit.js';

const ROUTES = [
  { pattern: /^\/?$/, nav: 'flags', render: () => flagsPage },
  { pattern: /^\/flags\/(\d+)(?:\/(evaluate|history|compare))?$/, nav: 'flags', render: ([id, tab]) => (page) => flagPage(page, Number(id), tab || 'config') },
  { pattern: /^\/audit$/, nav: 'audit', render: () => auditPage },
  { pattern: /^\/webhooks$/, nav: 'webhooks', render: () => webhooksPage },
  { pattern: /^\/webhooks\/new$/, nav: 'webhooks', render: () => newWebhookPage },
  { pattern: /^\/webhooks\/(\d+)$/, nav: 'webhooks', render: ([id]) => (page) => webhookPage(page, Number(id)) },
  {
    pattern: /^\/webhooks\/(\d+)\/deliveries\/([\w-]+)$/,
    nav: 'webhooks',
    render: ([id, delivery]) => (page) => deliveryPage(page, Number(id), delivery),
  },
];

let leaving = [];
/** The view's checks for unsaved work: each answers a warning, or null when nothing would be lost. */
let guards = [];
/** The address of the view on screen. */
let shown = location.hash;

function unsavedWork() {
  return guards.map((check) => check()).find(Boolean) || null;
}

/** Runs the view's clean-ups and forgets its guards. */
function leave() {
  for (const cleanUp of leaving) cleanUp();
  leaving = [];
  guards = [];
}

async function route() {
  leave();
  shown = location.hash;
  document.getElementById('toasts')?.replaceChildren();
  const path = decodeURIComponent(location.hash.replace(/^#/, '')) || '/';
  const match = ROUTES.map((candidate) => ({ candidate, groups: candidate.pattern.exec(path) })).find((m) => m.groups);
  const main = document.getElementById('main');
  const root = h('div', { class: 'page' });
  replaceChildren(main, root);
  for (const link of document.querySelectorAll('[data-nav]')) {
    if (match && link.dataset.nav === match.candidate.nav) link.setAttribute('aria-current', 'page');
    else link.removeAttribute('aria-current');
  }
  const page = {
    root,
    onLeave: (cleanUp) => leaving.push(cleanUp),
    guard: (check) => guards.push(check),
    /** Sets the document title, naming the environment when there are several. */
    title: (text) => {
      const environment = environments().length > 1 ? ` · ${currentEnvironment().name}` : '';
      document.title = `${text}${environment} · Bunting`;
    },
  };
  const render = match ? match.candidate.render(match.groups.slice(1)) : notFound;
  root.append(h('p', { class: 'muted loading' }, 'Loading…'));
  try {
    await showEnvironment();
    await render(page);
  } catch (error) {
    const slot = errorSlot();
    showError(slot, error);
    replaceChildren(root, h('h1', {}, 'This page could not be shown'), slot, h('p', {}, h('a', { href: '#/' }, 'Back to the flags')));
  }
  // A new view: start at the top, with keyboard focus on its heading (unless the page focused
  // something itself), so the next Tab goes through this view.
  window.scrollTo(0, 0);
  const heading = root.querySelector('h1');
  if (heading && !root.contains(document.activeElement)) {
    heading.tabIndex = -1;
    heading.focus({ preventScroll: true });
  }
}

function notFound(page) {
  page.title('Not found');
  replaceChildren(page.root, h('h1', {}, 'Not found'), h('p', {}, 'Nothing lives at this address. ', h('a', { href: '#/' }, 'Go to the flags.')));
}

/** Re-reads the environments and shows the current one in the top bar. */
async function showEnvironment() {
  const lost = await loadEnvironments();
  if (lost) showToast(`The environment “${lost}” no longer exists: you are in ${currentEnvironment().name} now.`, 'warn');
  drawSwitcher();
}

function drawSwitcher() {
  renderSwitcher(document.getElementById('environment-switcher'), document.getElementById('env-band'), switchEnvironment);
}

/** The user picked another environment: the same view, in it (after asking, with unsaved work). */
async function switchEnvironment(key) {
  const warning = unsavedWork();
  if (warning && !(await confirmDanger('Switch without saving?', warning, 'Switch without saving'))) {
    drawSwitcher(); // shows the environment the user stays in again
    return;
  }
  chooseEnvironment(key);
  route();
}

/**
 * A new address inside the app. With unsaved work the old address is put back while the user is
 * asked (the browser has already moved on), then the new one is taken only if they leave.
 */
async function navigate() {
  const warning = unsavedWork();
  if (warning) {
    const target = location.hash;
    const go = (hash) => history.replaceState(null, '', hash || location.pathname + location.search);
    go(shown);
    if (!(await confirmDanger('Leave without saving?', warning, 'Leave without saving'))) return;
    go(target);
  }
  route();
}

/** Shows who is signed in, in the top bar. */
function drawWho() {
  renderWho(document.getElementById('who'), signedIn(), () => signIn(null));
}

/** Forgets the token and shows the sign-in screen, with the server's `refusal` when there is one. */
function signIn(refusal) {
  leave();
  forget();
  document.body.dataset.signedOut = '';
  drawWho();
  const root = h('div', { class: 'page' });
  replaceChildren(document.getElementById('main'), root);
  signInScreen(root, refusal, enter);
}

/** Signed in (or no sign-in needed): the view the address names. */
async function enter() {
  delete document.body.dataset.signedOut;
  drawWho();
  await route();
}

async function start() {
  const presented = token();
  let refused;
  try {
    ({ refused } = await identify());
  } catch (error) {
    const slot = errorSlot();
    showError(slot, error);
    replaceChildren(document.getElementById('main'), h('div', { class: 'page' }, h('h1', {}, 'Bunting could not start'), slot));
    return;
  }
  // Arriving without a token is no failure: the screen just asks for one.
  if (refused) signIn(presented || refused.status !== 401 ? refused : null);
  else await enter();
}

// A 401 after signing in: the token was revoked or has expired.
onUnauthorized((error) => {
  if (signedIn()?.authentication === 'tokens') signIn(error);
});
window.addEventListener('hashchange', () => {
  if (signedIn()) navigate();
});
// Reloading, closing the tab or going to another site: the browser asks with its own dialog.
window.addEventListener('beforeunload', (event) => {
  if (!unsavedWork()) return;
  event.preventDefault();
  event.returnValue = true; // older browsers ask only when this is set
});
start();
