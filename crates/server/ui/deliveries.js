// deliveries.js — a webhook's delivery log (filters by status, event and flag key; newest first;
// paged) and one delivery's page (#/webhooks/{id}/deliveries/{deliveryID}): the exact body sent,
// the headers, every attempt, and Redeliver. Both refresh themselves while anything shown is
// still pending.

import { api, query } from './api.js';
import { h, prettyJson, replaceChildren, swap, timeEl } from './dom.js';
import { badge, card, codeBlock, copyButton, deliveryBadge, errorSlot, field, run } from './widgets.js';
import { may } from './session.js';

const PAGE = 25;
/** While a delivery is pending, look again this often; more slowly when its next try is far. */
const POLL_MS = 1500;
const SLOW_POLL_MS = 10000;

/** Filters per webhook id, kept while the page is open so coming back from a delivery keeps them. */
const filters = new Map();

/**
 * Schedules `refresh` while any of `pending()` (the deliveries shown that are still pending) is:
 * soon when one is due (or being sent), later when all wait for a retry further off. Stops when
 * the page is left; `refresh` itself calls the returned `schedule` again.
 */
function poller(page, element, refresh, pending) {
  let timer = null;
  page.onLeave(() => clearTimeout(timer));
  return () => {
    clearTimeout(timer);
    const waits = pending().map((delivery) => new Date(delivery.nextAttemptAt).getTime() - Date.now());
    if (!waits.length) return;
    const delay = Math.min(SLOW_POLL_MS, Math.max(POLL_MS, Math.min(...waits.map((wait) => wait || 0))));
    timer = setTimeout(() => element().isConnected && refresh(), delay);
  };
}

/** The delivery log of `webhook`: `{element, refresh}`. */
export function deliveryLog(page, webhook, catalogue) {
  const filter = filters.get(webhook.id) || { status: '', event: '', flagKey: '', offset: 0 };
  filters.set(webhook.id, filter);
  const errors = errorSlot();
  const status = h(
    'select',
    { id: 'filter-status', value: filter.status },
    h('option', { value: '' }, 'any'),
    ['pending', 'delivered', 'failed'].map((name) => h('option', { value: name }, name)),
  );
  const event = h(
    'select',
    { id: 'filter-event', value: filter.event },
    h('option', { value: '' }, 'any'),
    catalogue.map((info) => h('option', { value: info.name }, info.name)),
  );
  const flagKey = h('input', { id: 'filter-flag-key', value: filter.flagKey, autocomplete: 'off', class: 'mono' });
  const note = h('p', { class: 'muted small', 'aria-live': 'polite' });
  let deliveries = [];
  let table = h('div');
  const newer = h('button', { type: 'button', class: 'button small' }, '← Newer');
  const older = h('button', { type: 'button', class: 'button small' }, 'Older →');
  const schedule = poller(page, () => table, () => refresh(), () => deliveries.filter((delivery) => delivery.status === 'pending'));
  const refresh = async () => {
    try {
      deliveries = await api.get(
        `/webhooks/${webhook.id}/deliveries${query({ status: filter.status, event: filter.event, flagKey: filter.flagKey, limit: PAGE, offset: filter.offset })}`,
      );
      table = swap(table, deliveriesTable(webhook, deliveries, filter));
      newer.disabled = filter.offset === 0;
      older.disabled = deliveries.length < PAGE;
      const pending = deliveries.some((delivery) => delivery.status === 'pending');
      note.textContent = pending ? 'Some deliveries are pending: this list refreshes by itself.' : '';
      errors.hidden = true;
    } catch (error) {
      errors.textContent = error.message;
      errors.hidden = false;
    }
    schedule();
  };
  const apply = () => {
    Object.assign(filter, { status: status.value, event: event.value, flagKey: flagKey.value.trim(), offset: 0 });
    return refresh();
  };
  status.addEventListener('change', apply);
  event.addEventListener('change', apply);
  newer.addEventListener('click', () => {
    filter.offset = Math.max(0, filter.offset - PAGE);
    refresh();
  });
  older.addEventListener('click', () => {
    filter.offset += PAGE;
    refresh();
  });
  const form = h(
    'form',
    {
      class: 'filters',
      'aria-label': 'Filter deliveries',
      on: {
        submit: (event) => {
          event.preventDefault();
          apply();
        },
      },
    },
    field('Status', status),
    field('Event', event),
    field('Flag key', flagKey),
    h('div', { class: 'actions' }, h('button', { type: 'submit', class: 'button' }, 'Filter'), h('button', { type: 'button', class: 'button', on: { click: refresh } }, 'Refresh')),
  );
  const element = card('Deliveries', form, note, errors, table, h('div', { class: 'actions pager' }, newer, older));
  refresh();
  return { element, refresh };
}

function deliveriesTable(webhook, deliveries, filter) {
  if (!deliveries.length) {
    const filtered = filter.status || filter.event || filter.flagKey || filter.offset;
    return h(
      'p',
      { class: 'muted', id: 'deliveries-empty' },
      filtered ? 'No deliveries match these filters.' : 'No deliveries yet. Change a flag, or press “Send test event”.',
    );
  }
  return h(
    'div',
    { class: 'table-wrap', id: 'deliveries' },
    h(
      'table',
      { class: 'table' },
      h('caption', { class: 'offscreen' }, 'Deliveries, newest first'),
      h('thead', {}, h('tr', {}, ['Created', 'Event', 'Flag', 'Status', 'Attempts', 'Last result', 'Next attempt'].map((name) => h('th', { scope: 'col' }, name)))),
      h(
        'tbody',
        {},
        deliveries.map((delivery) =>
          h(
            'tr',
            { 'data-delivery': delivery.id },
            h('td', {}, h('a', { id: `delivery-${delivery.id}`, href: `#/webhooks/${webhook.id}/deliveries/${delivery.id}` }, timeEl(delivery.createdAt))),
            h('td', {}, h('code', {}, delivery.event)),
            h('td', {}, delivery.flagKey ? h('span', { class: 'mono' }, delivery.flagKey) : h('span', { class: 'muted' }, '—')),
            h('td', {}, deliveryBadge(delivery.status)),
            h('td', { class: 'num' }, delivery.attemptCount),
            h('td', {}, lastResult(delivery)),
            h('td', {}, delivery.status === 'pending' ? timeEl(delivery.nextAttemptAt) : h('span', { class: 'muted' }, '—')),
          ),
        ),
      ),
    ),
  );
}

function lastResult(delivery) {
  const parts = [];
  if (delivery.lastStatusCode) parts.push(statusCodeBadge(delivery.lastStatusCode));
  if (delivery.lastErrorClass) parts.push(' ', badge(delivery.lastErrorClass, 'bad'));
  return parts.length ? parts : h('span', { class: 'muted' }, '—');
}

function statusCodeBadge(code) {
  return badge(`HTTP ${code}`, code >= 200 && code < 300 ? 'ok' : 'bad');
}

export async function deliveryPage(page, webhookId, deliveryId) {
  const path = `/webhooks/${webhookId}/deliveries/${deliveryId}`;
  const webhook = await api.get(`/webhooks/${webhookId}`);
  let delivery = await api.get(path);
  let content = null;
  const render = () => {
    const next = deliveryView(delivery, redeliver);
    content = content ? swap(content, next) : next;
  };
  const refresh = async () => {
    try {
      delivery = await api.get(path);
      render();
    } finally {
      schedule();
    }
  };
  const redeliver = (button, errors) =>
    run(button, errors, async () => {
      await api.post(`${path}/redeliver`);
      await refresh();
    });
  const schedule = poller(page, () => content, refresh, () => (delivery.status === 'pending' ? [delivery] : []));
  page.title(`Delivery ${delivery.event}`);
  render();
  replaceChildren(
    page.root,
    h(
      'nav',
      { class: 'crumbs', 'aria-label': 'Breadcrumb' },
      h('a', { href: '#/webhooks' }, 'Webhooks'),
      ' / ',
      h('a', { href: `#/webhooks/${webhookId}`, class: 'mono' }, webhook.url),
      ' / delivery',
    ),
    content,
  );
  schedule();
}

/** One delivery; `redeliver(button, errorSlot)` is what the Redeliver button does. */
function deliveryView(delivery, redeliver) {
  const errors = errorSlot();
  const latest = delivery.attempts[delivery.attempts.length - 1];
  const redeliverButton = h(
    'button',
    { type: 'button', id: 'redeliver', class: 'button primary', on: { click: (event) => redeliver(event.currentTarget, errors) } },
    'Redeliver',
  );
  const fact = (label, value) => [h('dt', {}, label), h('dd', {}, value)];
  return h(
    'div',
    { class: 'delivery' },
    h('div', { class: 'page-head' }, h('h1', {}, 'Delivery of ', h('code', {}, delivery.event)), h('span', { id: 'delivery-status' }, deliveryBadge(delivery.status))),
    h(
      'div',
      { class: 'actions' },
      may('editor') ? redeliverButton : null,
      h('span', { class: 'help' }, 'Sends the same body again as a new attempt; receivers deduplicate on the event id.'),
    ),
    errors,
    card(
      'Summary',
      h(
        'dl',
        { class: 'facts' },
        fact('Delivery ID', h('span', { class: 'mono' }, delivery.id)),
        fact('Event ID', h('span', { class: 'mono' }, delivery.eventID)),
        fact('Flag', delivery.flagID ? h('a', { href: `#/flags/${delivery.flagID}`, class: 'mono' }, delivery.flagKey || `flag ${delivery.flagID}`) : '—'),
        fact('Change', delivery.sequence ? `#${delivery.sequence}` : '—'),
        fact('Created', timeEl(delivery.createdAt)),
        fact('Finished', timeEl(delivery.finishedAt)),
        fact('Attempts', String(delivery.attemptCount)),
        fact('Next attempt', delivery.status === 'pending' ? timeEl(delivery.nextAttemptAt) : '—'),
      ),
    ),
    card(
      'Request body',
      codeBlock(prettyJson(delivery.body), 'Request body'),
      copyButton(() => delivery.body, 'Copy body'),
    ),
    card(
      'Headers sent',
      latest
        ? [
            h('p', { class: 'help' }, `As sent in attempt ${latest.number}. Signatures are shown; secrets are never stored.`),
            headersTable(latest.requestHeaders),
          ]
        : h('p', { class: 'muted' }, 'Not sent yet.'),
    ),
    card(
      'Attempts',
      delivery.attempts.length
        ? h('ol', { class: 'attempts', id: 'attempts' }, delivery.attempts.map((attempt) => h('li', {}, attemptView(attempt))))
        : h('p', { class: 'muted' }, 'No attempt yet.'),
    ),
  );
}

function headersTable(headers) {
  return h(
    'div',
    { class: 'table-wrap' },
    h(
      'table',
      { class: 'table headers' },
      h('thead', {}, h('tr', {}, h('th', { scope: 'col' }, 'Header'), h('th', { scope: 'col' }, 'Value'))),
      h(
        'tbody',
        {},
        Object.entries(headers || {}).map(([name, value]) => h('tr', {}, h('th', { scope: 'row', class: 'mono' }, name), h('td', { class: 'mono break' }, String(value)))),
      ),
    ),
  );
}

function attemptView(attempt) {
  return h(
    'article',
    { class: 'attempt', 'data-attempt': attempt.number },
    h(
      'header',
      { class: 'attempt-head' },
      h('h3', {}, `Attempt ${attempt.number}`),
      attempt.statusCode ? statusCodeBadge(attempt.statusCode) : null,
      attempt.errorClass ? badge(attempt.errorClass, 'bad') : null,
      h('span', { class: 'muted small' }, timeEl(attempt.startedAt), ` · ${attempt.durationMs} ms`),
    ),
    attempt.error ? h('p', { class: 'error-text' }, attempt.error) : null,
    attempt.nextAttemptAt ? h('p', { class: 'small' }, 'Next attempt ', timeEl(attempt.nextAttemptAt)) : null,
    attempt.responseBody
      ? [h('h4', {}, 'Response (excerpt)'), codeBlock(attempt.responseBody, `Response to attempt ${attempt.number}`)]
      : attempt.statusCode
        ? h('p', { class: 'muted small' }, 'Empty response body.')
        : null,
    h('details', {}, h('summary', {}, 'Headers sent in this attempt'), headersTable(attempt.requestHeaders)),
  );
}
