// webhooks.js — the webhook pages: the list (#/webhooks) with status and delivery health, the
// create form (#/webhooks/new), and one webhook's page (#/webhooks/{id}) with its settings, the
// event checklist, the write-only secret and its rotation (shown once), test sends,
// enable/disable, delete, and its delivery log. Webhooks from FLAGR_NOTIFICATION_WEBHOOK_* are
// read-only here. Webhooks belong to the current environment; one set to hear all environments
// (allEnvironments) gets every environment's changes and says so.

import { api } from './api.js';
import { h, markSaved, replaceChildren, swap, timeEl } from './dom.js';
import { badge, card, checkbox, confirmDanger, copyButton, deliveryBadge, errorSlot, field, run, showToast } from './widgets.js';
import { deliveryLog } from './deliveries.js';
import { currentEnvironment, environmentChip } from './environments.js';
import { editable, may } from './session.js';

/** Groups `*` covers: every flag-related event, not webhook events. */
const STAR_GROUPS = ['flag', 'segment', 'variant', 'constraint', 'distribution'];

export async function webhooksPage(page) {
  page.title('Webhooks');
  const webhooks = await api.get('/webhooks');
  replaceChildren(
    page.root,
    h('div', { class: 'page-head' }, h('h1', {}, 'Webhooks'), may('editor') ? h('a', { class: 'button primary', href: '#/webhooks/new' }, 'New webhook') : null),
    h(
      'p',
      { class: 'lead' },
      'When a flag changes, Bunting POSTs a signed JSON event to every webhook subscribed to it, retries failures with backoff, and logs each delivery.',
    ),
    h(
      'p',
      { class: 'env-note' },
      'The webhooks of ',
      environmentChip(currentEnvironment()),
      ': each hears this environment’s changes, or every environment’s when marked “all environments”.',
    ),
    webhooks.length
      ? h(
          'div',
          { class: 'table-wrap card' },
          h(
            'table',
            { class: 'table' },
            h('caption', { class: 'offscreen' }, 'Webhooks'),
            h('thead', {}, h('tr', {}, ['ID', 'URL', 'Events', 'Hears', 'Status', 'Last delivery', 'Failed', 'Pending'].map((name) => h('th', { scope: 'col' }, name)))),
            h('tbody', {}, webhooks.map(webhookRow)),
          ),
        )
      : h('div', { class: 'card' }, h('p', {}, 'No webhooks yet.', may('editor') ? [' ', h('a', { href: '#/webhooks/new' }, 'Create one'), ' to be told about every flag change.'] : null)),
  );
}

function webhookRow(webhook) {
  return h(
    'tr',
    {},
    h('td', { class: 'num' }, webhook.id),
    h(
      'td',
      {},
      h('a', { href: `#/webhooks/${webhook.id}`, class: 'mono break' }, webhook.url),
      webhook.description ? h('div', { class: 'muted small' }, webhook.description) : null,
      webhook.managedBy === 'config' ? badge('from configuration', 'info') : null,
    ),
    h('td', {}, h('span', { class: 'tags' }, webhook.events.map((event) => h('code', { class: 'tag' }, event)))),
    h('td', {}, hearsView(webhook)),
    h('td', {}, statusView(webhook)),
    h('td', {}, webhook.lastDelivery ? [deliveryBadge(webhook.lastDelivery.status), ' ', timeEl(webhook.lastDelivery.createdAt)] : h('span', { class: 'muted' }, 'none yet')),
    h('td', { class: 'num' }, webhook.failedDeliveries ? badge(String(webhook.failedDeliveries), 'bad') : '0'),
    h('td', { class: 'num' }, webhook.pendingDeliveries ? badge(String(webhook.pendingDeliveries), 'warn') : '0'),
  );
}

/** Which environments' changes the webhook hears. */
function hearsView(webhook) {
  return webhook.allEnvironments ? badge('all environments', 'info') : environmentChip(currentEnvironment());
}

function statusView(webhook) {
  if (webhook.enabled) return badge('enabled', 'ok');
  return h('span', {}, badge('disabled', 'off'), webhook.disabledReason ? h('div', { class: 'small' }, webhook.disabledReason) : null);
}

export async function newWebhookPage(page) {
  page.title('New webhook');
  const catalogue = await api.get('/webhook_events');
  replaceChildren(
    page.root,
    h('nav', { class: 'crumbs', 'aria-label': 'Breadcrumb' }, h('a', { href: '#/webhooks' }, 'Webhooks'), ' / new'),
    h('h1', {}, 'New webhook'),
    editable(
      card(
        'Settings',
        webhookForm(null, catalogue, (created) => {
          location.hash = `#/webhooks/${created.id}`;
        }),
      ),
    ),
  );
}

export async function webhookPage(page, id) {
  const [webhook, catalogue] = await Promise.all([api.get(`/webhooks/${id}`), api.get('/webhook_events')]);
  const ctx = { webhook, catalogue, page };
  let head = webhookHead(ctx);
  let settings = settingsCard(ctx);
  ctx.refresh = async () => {
    ctx.webhook = await api.get(`/webhooks/${id}`);
    head = swap(head, webhookHead(ctx));
    settings = swap(settings, settingsCard(ctx));
  };
  page.title(`Webhook ${id}`);
  const log = deliveryLog(page, ctx.webhook, catalogue);
  ctx.refreshLog = log.refresh;
  replaceChildren(
    page.root,
    h('nav', { class: 'crumbs', 'aria-label': 'Breadcrumb' }, h('a', { href: '#/webhooks' }, 'Webhooks'), ` / webhook ${id}`),
    head,
    log.element,
    settings,
  );
}

function webhookHead(ctx) {
  const { webhook } = ctx;
  const errors = errorSlot();
  const secretArea = h('div', { id: 'secret-reveal' });
  const readOnly = webhook.managedBy === 'config';
  const sendTest = (event) =>
    run(event.currentTarget, errors, async () => {
      await api.post(`/webhooks/${webhook.id}/test`);
      showToast('Test event queued: watch it in the delivery log.');
      await ctx.refreshLog();
    });
  const toggle = (event) =>
    run(event.currentTarget, errors, async () => {
      await api.put(`/webhooks/${webhook.id}`, { enabled: !webhook.enabled });
      await ctx.refresh();
    });
  const rotate = async (event) => {
    const confirmed = await confirmDanger(
      'Rotate the signing secret?',
      'Bunting generates a new secret and shows it once. The old secret keeps signing alongside it for a while, so you can update the receiver without dropping deliveries.',
      'Rotate secret',
    );
    if (!confirmed) return;
    await run(event.target, errors, async () => {
      const rotated = await api.post(`/webhooks/${webhook.id}/secret/rotate`);
      await ctx.refresh();
      replaceChildren(document.getElementById('secret-reveal'), secretReveal(rotated));
      document.getElementById('new-secret')?.focus();
    });
  };
  const remove = async (event) => {
    const confirmed = await confirmDanger(
      `Delete webhook ${webhook.id}?`,
      `${webhook.url} stops receiving events; its pending deliveries are dropped.`,
      'Delete webhook',
    );
    if (!confirmed) return;
    await run(event.target, errors, async () => {
      await api.delete(`/webhooks/${webhook.id}`);
      location.hash = '#/webhooks';
    });
  };
  return h(
    'div',
    { class: 'webhook-head' },
    h('h1', { class: 'mono break' }, webhook.url),
    webhook.description ? h('p', { class: 'lead' }, webhook.description) : null,
    h(
      'p',
      { class: 'status-line' },
      environmentChip(currentEnvironment()),
      ' ',
      webhook.allEnvironments ? [badge('hears all environments', 'info'), ' '] : null,
      statusView(webhook),
      ' ',
      webhook.hasSecret ? badge('signed', 'info') : badge('unsigned', 'warn'),
      ' ',
      h(
        'span',
        { class: 'muted small' },
        `ID ${webhook.id} · timeout ${webhook.timeoutSeconds}s · ${webhook.format === 'bunting' ? '' : `${webhook.format} format · `}created `,
        timeEl(webhook.createdAt),
      ),
    ),
    webhook.previousSecretExpiresAt
      ? h('p', { class: 'small' }, 'The previous secret also signs deliveries until ', timeEl(webhook.previousSecretExpiresAt), '.')
      : null,
    readOnly
      ? h(
          'p',
          { class: 'notice' },
          'This webhook comes from the FLAGR_NOTIFICATION_WEBHOOK_* settings (Flagr’s notifier), so it is read-only here: ' +
            'change those environment variables and restart Bunting to edit it. You can still send test events and redeliver.',
        )
      : null,
    editable(
      h(
        'div',
        { class: 'actions' },
        h('button', { type: 'button', id: 'send-test', class: 'button primary', on: { click: sendTest } }, 'Send test event'),
      readOnly
        ? null
        : [
            h('button', { type: 'button', id: 'toggle-webhook', class: 'button', on: { click: toggle } }, webhook.enabled ? 'Disable' : 'Enable'),
            h('button', { type: 'button', class: 'button', on: { click: rotate } }, 'Rotate secret'),
            h('button', { type: 'button', class: 'button danger', on: { click: remove } }, 'Delete'),
          ],
      ),
    ),
    errors,
    secretArea,
  );
}

function secretReveal(rotated) {
  return h(
    'div',
    { class: 'notice secret', role: 'status' },
    h('p', {}, h('strong', {}, 'Copy the new secret now: it will not be shown again.'), ' Configure your receiver with it; the old one keeps working until ', timeEl(rotated.previousSecretExpiresAt), '.'),
    h('p', {}, h('label', { for: 'new-secret' }, 'New secret'), ' ', h('input', { id: 'new-secret', class: 'mono', readonly: true, value: rotated.secret, size: 40 })),
    copyButton(() => rotated.secret, 'Copy secret'),
  );
}

function settingsCard(ctx) {
  return editable(
    card(
      'Settings',
      webhookForm(ctx.webhook, ctx.catalogue, async () => {
        await ctx.refresh();
        showToast('Webhook saved.');
      }),
    ),
  );
}

/** The create/edit form; `webhook` is null to create. Calls `saved(webhook)` after a save. */
function webhookForm(webhook, catalogue, saved) {
  const readOnly = webhook?.managedBy === 'config';
  const errors = errorSlot();
  const url = h('input', { id: 'webhook-url', type: 'url', required: true, value: webhook?.url ?? '', placeholder: 'https://example.com/hooks/flags', class: 'mono' });
  const description = h('input', { id: 'webhook-description', value: webhook?.description ?? '', autocomplete: 'off' });
  const timeout = h('input', { id: 'webhook-timeout', type: 'number', min: 1, max: 30, step: 1, value: webhook?.timeoutSeconds ?? 10, class: 'percent' });
  const secret = h('input', { id: 'webhook-secret', autocomplete: 'off', spellcheck: 'false', class: 'mono' });
  // The formats the API sets (docs/webhooks.md); a config-managed webhook shows its own.
  const formats = [
    ['bunting', 'Bunting (signed event payload)'],
    ['flagsmith', 'Flagsmith FLAG_UPDATED'],
    ['flagsmith_audit', 'Flagsmith audit log'],
    ['slack', 'Slack / Mattermost message'],
    ['sentry', 'Sentry change tracking'],
  ];
  const current = webhook?.format ?? 'bunting';
  if (!formats.some(([name]) => name === current)) formats.push([current, current]);
  const format = h(
    'select',
    { id: 'webhook-format', value: current },
    formats.map(([name, label]) => h('option', { value: name }, label)),
  );
  const events = eventChecklist(catalogue, webhook?.events ?? ['*']);
  // The server's refusals start with the body field they are about ("url \"…\" must start
  // with…", "timeoutSeconds must be…", "unknown events: …"); each is shown at that field.
  // Unknown events can only come from the free-text patterns: the boxes are the catalogue's.
  const problems = [
    [/^url\b/, url],
    [/^description\b/, description],
    [/^secret\b/, secret],
    [/^timeoutSeconds\b/, timeout],
    [/^format\b/, format],
    [/^(events\b|unknown events)/, events.other],
  ].map(([pattern, control]) => ({ pattern, ...fieldProblem(control) }));
  const form = h(
    'form',
    {
      class: 'webhook-form',
      on: {
        submit: (event) => {
          event.preventDefault();
          for (const problem of problems) problem.clear();
          run(event.submitter, errors, async () => {
            const body = {
              url: url.value.trim(),
              description: description.value,
              events: events.patterns(),
              timeoutSeconds: Number(timeout.value),
              format: format.value,
              enabled: form.querySelector('#webhook-enabled').checked,
              allEnvironments: form.querySelector('#webhook-all-environments').checked,
            };
            if (!body.events.length) throw new Error('Pick at least one event.');
            const removeSecret = form.querySelector('#webhook-remove-secret')?.checked;
            if (removeSecret) body.secret = null;
            else if (secret.value) body.secret = secret.value;
            let result;
            try {
              result = webhook ? await api.put(`/webhooks/${webhook.id}`, body) : await api.post('/webhooks', body);
            } catch (error) {
              const problem = problems.find(({ pattern }) => pattern.test(error.message));
              if (!problem) throw error;
              problem.show(error.message);
              return;
            }
            markSaved(form);
            await saved(result);
          });
        },
      },
    },
    h(
      'fieldset',
      { disabled: readOnly, class: 'plain' },
      h('legend', { class: 'offscreen' }, 'Webhook settings'),
      h(
        'div',
        { class: 'row' },
        field('URL', url, 'Where Bunting POSTs events (http or https).'),
        field('Description', description, 'Who owns it, what it does.'),
      ),
      events.element,
      h(
        'div',
        { class: 'row' },
        field(
          webhook ? 'New signing secret' : 'Signing secret (optional)',
          secret,
          webhook
            ? webhook.hasSecret
              ? 'A secret is set (it is never shown). Type a new one to replace it, or leave empty to keep it.'
              : 'No secret is set: deliveries are unsigned. Type one, or use “Rotate secret” to generate one.'
            : 'Signs every delivery (webhook-signature header) so the receiver can check it came from Bunting. You can also generate one later.',
        ),
        field('Timeout (seconds)', timeout, 'Per attempt, 1 to 30.'),
        field('Body format', format, 'What the receiver expects: Bunting’s payload, or a format other tools read as they are.'),
      ),
      webhook?.hasSecret ? checkbox('webhook-remove-secret', 'Remove the secret (send unsigned deliveries)', false) : null,
      checkbox('webhook-all-environments', `Hear every environment’s changes, not only ${currentEnvironment().name}’s`, webhook?.allEnvironments ?? false),
      h(
        'small',
        { class: 'help' },
        'For audit streams: each payload names its environment. The webhook itself stays in ',
        currentEnvironment().name,
        ', where it is managed.',
      ),
      checkbox('webhook-enabled', 'Enabled', webhook?.enabled ?? true),
      readOnly ? null : h('div', { class: 'actions' }, h('button', { type: 'submit', class: 'button primary' }, webhook ? 'Save changes' : 'Create webhook')),
    ),
    errors,
  );
  // The controls are in their fields now: give each a place for its problem.
  for (const problem of problems) problem.place();
  return form;
}

/**
 * A place under `control` (inside its field) for what is wrong with it: read with the control
 * by screen readers, which also hear the control is invalid while it shows.
 */
function fieldProblem(control) {
  const slot = h('p', { class: 'error', role: 'alert', id: `${control.id}-error`, hidden: true });
  return {
    place: () => {
      control.parentElement.append(slot);
      const describedBy = [control.getAttribute('aria-describedby'), slot.id].filter(Boolean).join(' ');
      control.setAttribute('aria-describedby', describedBy);
    },
    show: (message) => {
      slot.textContent = message;
      slot.hidden = false;
      control.setAttribute('aria-invalid', 'true');
      control.focus();
    },
    clear: () => {
      slot.textContent = '';
      slot.hidden = true;
      control.removeAttribute('aria-invalid');
    },
  };
}

/**
 * The event checklist, grouped by object, with `*` (all flag events) and a `group.*` glob per
 * group; patterns it cannot show as boxes stay editable as text. `patterns()` reads the choice.
 */
function eventChecklist(catalogue, selected) {
  const chosen = new Set(selected);
  const groups = [...new Set(catalogue.map((event) => event.group))];
  const all = h('input', { type: 'checkbox', id: 'events-all', checked: chosen.has('*') });
  const groupBoxes = new Map();
  const eventBoxes = new Map();
  const boxId = (name) => `event-${name.replace(/[^a-z0-9]+/gi, '-')}`;
  const fieldsets = groups.map((group) => {
    const glob = h('input', { type: 'checkbox', id: boxId(`${group}.*`), checked: chosen.has(`${group}.*`) });
    groupBoxes.set(group, glob);
    const events = catalogue.filter((event) => event.group === group);
    return h(
      'fieldset',
      { class: 'event-group' },
      h('legend', {}, group),
      h('label', { class: 'check', for: glob.id }, glob, h('span', {}, `Every ${group} event `, h('code', {}, `${group}.*`))),
      h(
        'ul',
        { class: 'plain-list' },
        events.map((event) => {
          const box = h('input', { type: 'checkbox', id: boxId(event.name), checked: chosen.has(event.name) });
          eventBoxes.set(event.name, { box, group });
          return h(
            'li',
            {},
            h('label', { class: 'check', for: box.id }, box, h('span', {}, h('code', {}, event.name), h('small', { class: 'help' }, ` ${event.description}`))),
          );
        }),
      ),
    );
  });
  const known = new Set(['*', ...groups.map((group) => `${group}.*`), ...catalogue.map((event) => event.name)]);
  const other = h('input', { id: 'events-other', class: 'mono', autocomplete: 'off', value: selected.filter((p) => !known.has(p)).join(', ') });
  // A box covered by a wider choice is shown ticked and cannot be changed on its own; when the
  // wider choice is dropped, the box gets back what the user had ticked.
  const cover = (box, covered) => {
    if (covered && !box.disabled) box.dataset.own = String(box.checked);
    if (!covered && box.disabled) box.checked = box.dataset.own === 'true';
    box.disabled = covered;
    if (covered) box.checked = true;
  };
  const sync = () => {
    for (const [group, glob] of groupBoxes) cover(glob, all.checked && STAR_GROUPS.includes(group));
    for (const { box, group } of eventBoxes.values()) cover(box, groupBoxes.get(group).checked);
  };
  const element = h(
    'fieldset',
    { class: 'events', on: { change: sync } },
    h('legend', {}, 'Events'),
    h('label', { class: 'check strong', for: all.id }, all, h('span', {}, 'All flag events ', h('code', {}, '*'), h('small', { class: 'help' }, ' (flags, segments, variants, constraints, distributions; not webhook events)'))),
    h('div', { class: 'event-groups' }, fieldsets),
    field('Other patterns', other, 'Comma-separated, e.g. variant.attachment.* — any event name or prefix glob.'),
  );
  sync();
  const patterns = () => {
    const result = [];
    if (all.checked) result.push('*');
    for (const [group, glob] of groupBoxes) if (glob.checked && !glob.disabled) result.push(`${group}.*`);
    for (const [name, { box }] of eventBoxes) if (box.checked && !box.disabled) result.push(name);
    result.push(...other.value.split(',').map((p) => p.trim()).filter(Boolean));
    return result;
  };
  return { element, patterns, other };
}
