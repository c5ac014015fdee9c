// main.js — the entry point: hash routing (#/flags/1, #/webhooks/2...), so the page works under
// any path prefix and every view has a link. Each route renders into a fresh container; a page
// registers clean-ups (timers) with `onLeave`, run when the user navigates away.

import { h, replaceChildren } from './dom.js';
import { errorSlot, showError } from './widgets.js';
import { flagsPage } from './flags.js';
import { flagPage } from './flag.js';
import { webhooksPage, webhookPage, newWebhookPage } from './webhooks.js';
import { deliveryPage } from './deliveries.js';

const ROUTES = [
  { pattern: /^\/?$/, nav: 'flags', render: () => flagsPage },
  { pattern: /^\/flags\/(\d+)(?:\/(evaluate|history))?$/, nav: 'flags', render: ([id, tab]) => (page) => flagPage(page, Number(id), tab || 'config') },
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

async function route() {
  for (const cleanUp of leaving) cleanUp();
  leaving = [];
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
    /** Sets the document title. */
    title: (text) => {
      document.title = `${text} · Bunting`;
    },
  };
  if (!match) {
    page.title('Not found');
    replaceChildren(root, h('h1', {}, 'Not found'), h('p', {}, 'Nothing lives at this address. ', h('a', { href: '#/' }, 'Go to the flags.')));
    return;
  }
  root.append(h('p', { class: 'muted loading' }, 'Loading…'));
  try {
    await match.candidate.render(match.groups.slice(1))(page);
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

window.addEventListener('hashchange', route);
route();
