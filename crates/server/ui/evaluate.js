// evaluate.js — the Evaluate tab of the flag page: a console for POST /api/v1/evaluation with
// entity id, entity type, context JSON and debug on by default; shows the variant, the segment
// that decided, the attachment and the debug log. The form is remembered per flag while the page
// stays open, so switching tabs to change the flag and back keeps what was typed.

import { ApiError, api, apiUrl } from './api.js';
import { h, prettyJson, replaceChildren } from './dom.js';
import { badge, card, checkbox, codeBlock, copyButton, errorSlot, field, run } from './widgets.js';

/** Per flag id: {entityID, entityType, context, sample, debug, result}. */
const remembered = new Map();

export function evaluatePanel(ctx) {
  const { flag } = ctx;
  const sample = JSON.stringify(sampleContext(flag), null, 2);
  const state = remembered.get(flag.id) || { entityID: 'user-1', entityType: '', context: sample, sample, debug: true, result: null };
  // A context the user has not edited follows the flag's constraints as they change.
  if (state.context === state.sample) Object.assign(state, { context: sample, sample });
  remembered.set(flag.id, state);
  const entityID = h('input', { id: 'eval-entity-id', value: state.entityID, autocomplete: 'off' });
  const entityType = h('input', { id: 'eval-entity-type', value: state.entityType, autocomplete: 'off', placeholder: flag.entityType || '' });
  const context = h('textarea', { id: 'eval-context', rows: 6, class: 'mono', spellcheck: 'false', value: state.context });
  const debugBox = checkbox('eval-debug', 'Explain the result (enableDebug)', state.debug);
  const errors = errorSlot();
  const output = h('div', { class: 'eval-output', 'aria-live': 'polite' });
  const curl = h('code');
  const request = () => {
    const body = { flagID: flag.id, entityID: entityID.value, entityContext: JSON.parse(context.value || '{}'), enableDebug: debugBox.querySelector('input').checked };
    if (entityType.value.trim()) body.entityType = entityType.value.trim();
    return body;
  };
  const remember = () => {
    Object.assign(state, {
      entityID: entityID.value,
      entityType: entityType.value,
      context: context.value,
      debug: debugBox.querySelector('input').checked,
    });
    try {
      curl.textContent = curlCommand(request());
    } catch {
      curl.textContent = 'The context is not valid JSON yet.';
    }
  };
  remember();
  const form = h(
    'form',
    {
      class: 'eval-form',
      on: {
        input: remember,
        change: remember,
        submit: (event) => {
          event.preventDefault();
          run(event.submitter, errors, async () => {
            let body;
            try {
              body = request();
            } catch (error) {
              throw new Error(`The context is not valid JSON: ${error.message}`);
            }
            try {
              state.result = await api.post('/evaluation', body);
            } catch (error) {
              if (error instanceof ApiError && error.status === 404 && error.code === 404) {
                throw new Error('This server has no evaluation endpoint (POST /api/v1/evaluation answered 404).');
              }
              throw error;
            }
            replaceChildren(output, resultView(flag, state.result));
          });
        },
      },
    },
    h(
      'div',
      { class: 'row' },
      field('Entity ID', entityID, 'Who is asking; the same ID always lands in the same bucket.'),
      field('Entity type', entityType, flag.entityType ? `The flag sets “${flag.entityType}”, which wins.` : 'Optional, e.g. user.'),
    ),
    field('Context (JSON)', context, 'The properties constraints look at, e.g. {"state": "CA"}. Prefilled from this flag’s constraints.'),
    debugBox,
    h('div', { class: 'actions' }, h('button', { type: 'submit', class: 'button primary' }, 'Evaluate')),
    errors,
    h('details', { class: 'curl' }, h('summary', {}, 'The same request with curl'), h('pre', { class: 'code' }, curl), copyButton(() => curl.textContent, 'Copy command')),
  );
  if (state.result) output.append(resultView(flag, state.result));
  return h(
    'div',
    { class: 'evaluate' },
    flag.enabled ? null : h('p', { class: 'notice' }, 'This flag is off, so every evaluation returns no variant. Switch it on above to see it work.'),
    card('Evaluate', form),
    output,
  );
}

/** A context that matches the flag's constraints where that is easy to guess (EQ, IN...). */
function sampleContext(flag) {
  const context = {};
  for (const segment of flag.segments) {
    for (const constraint of segment.constraints) {
      let value;
      try {
        value = JSON.parse(constraint.value);
      } catch {
        value = '';
      }
      if (['IN', 'NOTIN'].includes(constraint.operator) && Array.isArray(value)) value = value[0];
      if (['CONTAINS', 'NOTCONTAINS'].includes(constraint.operator)) value = [value];
      if (['EREG', 'NEREG'].includes(constraint.operator)) value = '';
      setPath(context, constraint.property.replace(/^@/, '').split('.'), value);
    }
  }
  return context;
}

function setPath(target, names, value) {
  const [name, ...rest] = names;
  if (!rest.length) {
    if (!(name in target)) target[name] = value;
    return;
  }
  if (typeof target[name] !== 'object' || target[name] === null) target[name] = {};
  setPath(target[name], rest, value);
}

function curlCommand(body) {
  const json = JSON.stringify(body).replaceAll("'", "'\\''");
  return `curl -s ${apiUrl('/evaluation')} -H 'Content-Type: application/json' -d '${json}'`;
}

function resultView(flag, result) {
  const segment = flag.segments.find((candidate) => candidate.id === result.segmentID);
  const debug = result.evalDebugLog || {};
  const logs = debug.segmentDebugLogs || [];
  return card(
    'Result',
    h(
      'dl',
      { class: 'facts' },
      h('dt', {}, 'Variant'),
      h('dd', { id: 'eval-variant' }, result.variantKey ? badge(result.variantKey, 'info') : h('span', { class: 'muted' }, 'no variant')),
      h('dt', {}, 'Segment'),
      h(
        'dd',
        { id: 'eval-segment' },
        result.segmentID ? `#${result.segmentID}${segment ? ` · ${segment.description || '(no description)'}` : ''}` : h('span', { class: 'muted' }, 'none'),
      ),
      h('dt', {}, 'Variant ID'),
      h('dd', {}, result.variantID ?? '—'),
      h('dt', {}, 'Entity'),
      h('dd', {}, `${result.evalContext?.entityID ?? ''}${result.evalContext?.entityType ? ` (${result.evalContext.entityType})` : ''}`),
    ),
    h('h3', {}, 'Attachment'),
    codeBlock(prettyJson(result.variantAttachment ?? {}), 'Attachment'),
    h('h3', {}, 'Debug log'),
    logs.length || debug.msg
      ? h(
          'ol',
          { class: 'debug-log', id: 'eval-debug-log' },
          logs.map((log) => h('li', {}, h('span', { class: 'mono' }, `segment ${log.segmentID}: `), log.msg)),
          debug.msg ? h('li', {}, debug.msg) : null,
        )
      : h('p', { class: 'muted' }, 'No debug log: tick “Explain the result” (the server may also have debug output turned off).'),
    h('details', {}, h('summary', {}, 'Full response'), codeBlock(prettyJson(result), 'Full response')),
  );
}
