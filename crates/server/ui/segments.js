// segments.js — the Segments card of the flag page: each segment's description and rollout, its
// constraints (operator picker, literal syntax help, the server's validation errors inline), its
// distribution (live total, saved only at exactly 100%), moving segments up and down then saving
// the order, and adding or deleting segments. Constraint problems (GET /constraint_problems: a
// stored constraint that does not compile, one that can never match) show at the constraint.

import { api } from './api.js';
import { h, markSaved } from './dom.js';
import { card, confirmDanger, errorSlot, field, run } from './widgets.js';
import { editable, may } from './session.js';

/** Flagr's operators, with how they read. */
export const OPERATORS = [
  ['EQ', 'equals'],
  ['NEQ', 'does not equal'],
  ['LT', 'is less than'],
  ['LTE', 'is at most'],
  ['GT', 'is greater than'],
  ['GTE', 'is at least'],
  ['EREG', 'matches the regex'],
  ['NEREG', 'does not match the regex'],
  ['IN', 'is one of'],
  ['NOTIN', 'is not one of'],
  ['CONTAINS', '(a list) contains'],
  ['NOTCONTAINS', '(a list) does not contain'],
];

const SCALAR_HELP = 'A string in double quotes "CA", a number 18 or a boolean true.';
const NUMBER_HELP = 'A number, e.g. 18 (the context value must be a number too).';
const REGEX_HELP = 'A regular expression in double quotes, e.g. "^a.*" (RE2 syntax, not anchored).';
const LIST_HELP = 'A JSON list of strings or of numbers, e.g. ["a","b"] or [1,2].';
const ITEM_HELP = 'One item: "a" in double quotes, or a number such as 1. The context property must be a list.';

/** What the value of each operator looks like: [help, placeholder]. */
const VALUE_SYNTAX = {
  EQ: [SCALAR_HELP, '"CA"'],
  NEQ: [SCALAR_HELP, '"CA"'],
  LT: [NUMBER_HELP, '18'],
  LTE: [NUMBER_HELP, '18'],
  GT: [NUMBER_HELP, '18'],
  GTE: [NUMBER_HELP, '18'],
  EREG: [REGEX_HELP, '"^a.*"'],
  NEREG: [REGEX_HELP, '"^a.*"'],
  IN: [LIST_HELP, '["a","b"]'],
  NOTIN: [LIST_HELP, '["a","b"]'],
  CONTAINS: [ITEM_HELP, '"a"'],
  NOTCONTAINS: [ITEM_HELP, '"a"'],
};

export function segmentsCard(ctx) {
  const { flag } = ctx;
  const serverOrder = flag.segments.map((segment) => segment.id);
  // A local order from the move buttons survives refreshes until saved, as long as the same
  // segments exist; otherwise it is dropped.
  const local = ctx.segmentOrder;
  if (local && (local.length !== serverOrder.length || !serverOrder.every((id) => local.includes(id)))) {
    ctx.segmentOrder = null;
  }
  const order = ctx.segmentOrder || serverOrder;
  const segments = order.map((id) => flag.segments.find((segment) => segment.id === id));
  const moved = segmentOrderUnsaved(ctx);
  // Filled in when the problems arrive; each constraint form registers its slot here.
  ctx.problemSlots = new Map();
  const summary = h('div', { id: 'constraint-problems', hidden: true });
  showProblems(flag.id, ctx.problemSlots, summary);
  return editable(
    card(
      'Segments',
      summary,
      h(
        'p',
        { class: 'help' },
        'Evaluation walks the segments from top to bottom. The first segment whose constraints all match the entity decides: ' +
          'an entity inside its rollout percent gets a variant from its distribution, anyone else gets no variant.',
      ),
      segments.length
        ? h('ol', { class: 'segments' }, segments.map((segment, index) => h('li', {}, segmentView(ctx, segment, index, segments.length))))
        : h('p', { class: 'muted' }, 'No segments: every evaluation returns no variant. Add a segment below.'),
      moved ? orderBar(ctx, order) : null,
      may('editor') ? newSegmentForm(ctx) : null,
    ),
  );
}

/** Whether segments were moved and the new order is not saved (the page asks before leaving). */
export function segmentOrderUnsaved(ctx) {
  return Boolean(ctx.segmentOrder?.some((id, index) => id !== ctx.flag.segments[index]?.id));
}

/** Fetches the flag's constraint problems and shows each at its constraint, with a summary. */
async function showProblems(flagId, slots, summary) {
  let problems;
  try {
    problems = await api.get(`/constraint_problems?flag_id=${flagId}`);
  } catch {
    return; // The editor works without them; the next render tries again.
  }
  if (!problems.length) return;
  for (const problem of problems) {
    const slot = slots.get(problem.constraintID);
    if (!slot) continue;
    slot.textContent = problem.severity === 'error' ? `Error: this constraint ${problem.message}.` : `Warning: this constraint ${problem.message}.`;
    slot.className = problem.severity === 'error' ? 'error constraint-problem' : 'notice constraint-problem';
    slot.hidden = false;
  }
  const errors = problems.filter((problem) => problem.severity === 'error');
  const whole = problems.filter((problem) => problem.constraintID === null).map((problem) => h('li', {}, `Segment ${problem.segmentID}: its constraints together ${problem.message}.`));
  summary.className = errors.length ? 'error' : 'notice';
  summary.setAttribute('role', errors.length ? 'alert' : 'status');
  summary.append(
    h(
      'p',
      {},
      errors.length
        ? `${errors.length} constraint${errors.length === 1 ? '' : 's'} of this flag cannot be compiled (stored by an older version): ` +
            'such a segment never matches, or the flag is left out of evaluation. Fix or delete them below.'
        : `${problems.length} constraint${problems.length === 1 ? '' : 's'} of this flag can never match any entity; see the warnings below.`,
    ),
    whole.length ? h('ul', {}, whole) : null,
  );
  summary.hidden = false;
}

/** Puts the keyboard on the Segments heading once the order bar (which had it) is gone. */
function focusSegments() {
  const heading = document.getElementById('card-segments');
  if (!heading) return;
  heading.tabIndex = -1;
  heading.focus();
}

/** Stays in view at the bottom of the screen while the new order is unsaved. */
function orderBar(ctx, order) {
  const errors = errorSlot();
  return h(
    'div',
    { class: 'notice order-bar', role: 'status' },
    h('span', {}, 'The new segment order is not saved yet.'),
    h(
      'button',
      {
        type: 'button',
        id: 'save-segment-order',
        class: 'button primary small',
        on: {
          click: (event) =>
            run(event.currentTarget, errors, async () => {
              await api.put(`/flags/${ctx.flag.id}/segments/reorder`, { segmentIDs: order });
              ctx.segmentOrder = null;
              await ctx.refresh();
              focusSegments();
            }),
        },
      },
      'Save order',
    ),
    h(
      'button',
      {
        type: 'button',
        class: 'button small',
        on: {
          click: () => {
            ctx.segmentOrder = null;
            ctx.rerender();
            focusSegments();
          },
        },
      },
      'Undo',
    ),
    errors,
  );
}

function move(ctx, index, by) {
  const order = [...(ctx.segmentOrder || ctx.flag.segments.map((segment) => segment.id))];
  const id = order[index];
  [order[index], order[index + by]] = [order[index + by], order[index]];
  ctx.segmentOrder = order;
  ctx.rerender();
  // Keep the keyboard on the moved segment; at the top or bottom, on its other move button.
  const pressed = document.getElementById(`segment-${id}-move-${by < 0 ? 'up' : 'down'}`);
  const other = document.getElementById(`segment-${id}-move-${by < 0 ? 'down' : 'up'}`);
  (pressed && !pressed.disabled ? pressed : other)?.focus();
}

function segmentView(ctx, segment, index, count) {
  const { flag } = ctx;
  const prefix = `segment-${segment.id}`;
  const errors = errorSlot();
  const name = segment.description || '(no description)';
  const remove = async (event) => {
    const confirmed = await confirmDanger(
      `Delete segment ${index + 1}?`,
      `“${name}” and its constraints and distribution are deleted; entities it matched fall through to the next segment.`,
      'Delete segment',
    );
    if (!confirmed) return;
    await run(event.target, errors, async () => {
      await api.delete(`/flags/${flag.id}/segments/${segment.id}`);
      await ctx.refresh();
    });
  };
  const moveButton = (label, by, disabled) =>
    h(
      'button',
      {
        type: 'button',
        id: `${prefix}-move-${by < 0 ? 'up' : 'down'}`,
        class: 'button small',
        'aria-label': `Move segment ${index + 1} ${label}`,
        disabled,
        on: { click: () => move(ctx, index, by) },
      },
      by < 0 ? '↑ Up' : '↓ Down',
    );
  return h(
    'article',
    { class: 'segment', 'data-segment': segment.id, 'aria-labelledby': `${prefix}-title` },
    h(
      'header',
      { class: 'segment-head' },
      h('h3', { id: `${prefix}-title` }, `Segment ${index + 1}`, h('span', { class: 'muted' }, ` · ${name}`)),
      h(
        'div',
        { class: 'actions' },
        moveButton('up', -1, index === 0),
        moveButton('down', 1, index === count - 1),
        h('button', { type: 'button', class: 'button small danger', on: { click: remove } }, 'Delete segment'),
      ),
    ),
    errors,
    segmentForm(ctx, segment),
    constraintsView(ctx, segment),
    distributionForm(ctx, segment),
  );
}

/** A rollout percent input with a slider kept in step. */
function rolloutField(id, value) {
  const number = h('input', { id, type: 'number', min: 0, max: 100, step: 1, value, required: true, class: 'percent' });
  const slider = h('input', { id: `${id}-slider`, type: 'range', min: 0, max: 100, step: 1, value, 'aria-label': 'Rollout percent slider' });
  number.addEventListener('input', () => (slider.value = number.value));
  slider.addEventListener('input', () => {
    number.value = slider.value;
    number.dataset.dirty = '1';
  });
  const wrapper = field('Rollout %', number, 'Share of the matching entities that get a variant.');
  wrapper.append(slider);
  return { wrapper, number };
}

function segmentForm(ctx, segment) {
  const { flag } = ctx;
  const prefix = `segment-${segment.id}`;
  const errors = errorSlot();
  const description = h('input', { id: `${prefix}-description`, value: segment.description, autocomplete: 'off' });
  const rollout = rolloutField(`${prefix}-rollout`, segment.rolloutPercent);
  const form = h(
    'form',
    {
      class: 'segment-form',
      on: {
        submit: (event) => {
          event.preventDefault();
          run(event.submitter, errors, async () => {
            await api.put(`/flags/${flag.id}/segments/${segment.id}`, {
              description: description.value.trim(),
              rolloutPercent: Number(rollout.number.value),
            });
            markSaved(form);
            await ctx.refresh();
          });
        },
      },
    },
    h('div', { class: 'row' }, field('Description', description), rollout.wrapper),
    h('div', { class: 'actions' }, h('button', { type: 'submit', class: 'button' }, 'Save segment')),
    errors,
  );
  return form;
}

function constraintsView(ctx, segment) {
  return h(
    'div',
    { class: 'constraints' },
    h('h4', {}, 'Constraints'),
    h(
      'p',
      { class: 'help' },
      segment.constraints.length
        ? 'An entity is in this segment when all of these match its context (AND).'
        : 'No constraints: every entity is in this segment. Add one to target, e.g. property state, EQ, value "CA".',
    ),
    segment.constraints.map((constraint) => constraintForm(ctx, segment, constraint)),
    constraintForm(ctx, segment, null),
  );
}

/** The form of one constraint, or of a new one when `constraint` is null. */
function constraintForm(ctx, segment, constraint) {
  const { flag } = ctx;
  const prefix = constraint ? `constraint-${constraint.id}` : `segment-${segment.id}-new-constraint`;
  const errors = errorSlot();
  errors.id = `${prefix}-error`;
  const property = h('input', {
    id: `${prefix}-property`,
    value: constraint?.property ?? '',
    class: 'mono',
    autocomplete: 'off',
    spellcheck: 'false',
    placeholder: 'state',
  });
  const operator = h(
    'select',
    { id: `${prefix}-operator`, value: constraint?.operator ?? 'EQ' },
    OPERATORS.map(([name, reads]) => h('option', { value: name }, `${name} — ${reads}`)),
  );
  const value = h('input', { id: `${prefix}-value`, value: constraint?.value ?? '', class: 'mono', autocomplete: 'off', spellcheck: 'false' });
  const help = h('small', { class: 'help', id: `${prefix}-value-help` });
  const problem = h('p', { id: `${prefix}-problem`, hidden: true });
  if (constraint) ctx.problemSlots.set(constraint.id, problem);
  const describe = () => {
    const [text, example] = VALUE_SYNTAX[operator.value];
    help.textContent = text;
    value.placeholder = example;
  };
  describe();
  operator.addEventListener('change', describe);
  operator.addEventListener('input', describe);
  value.setAttribute('aria-describedby', `${help.id} ${problem.id} ${errors.id}`);
  const label = (text, control) => h('label', { for: control.id, class: constraint ? 'offscreen' : null }, text);
  const remove = async (event) => {
    const confirmed = await confirmDanger(
      'Delete this constraint?',
      `${constraint.property} ${constraint.operator} ${constraint.value} — the segment then matches more entities.`,
      'Delete constraint',
    );
    if (!confirmed) return;
    await run(event.target, errors, async () => {
      await api.delete(`/flags/${flag.id}/segments/${segment.id}/constraints/${constraint.id}`);
      await ctx.refresh();
    });
  };
  const form = h(
    'form',
    {
      class: constraint ? 'constraint' : 'constraint new',
      'aria-label': constraint ? `Constraint ${constraint.property} ${constraint.operator} ${constraint.value}` : 'New constraint',
      on: {
        submit: (event) => {
          event.preventDefault();
          run(event.submitter, errors, async () => {
            const body = { property: property.value.trim(), operator: operator.value, value: value.value.trim() };
            if (!body.property || !body.value) throw new Error('A constraint needs a property and a value.');
            const path = `/flags/${flag.id}/segments/${segment.id}/constraints`;
            if (constraint) await api.put(`${path}/${constraint.id}`, body);
            else await api.post(path, body);
            markSaved(form);
            await ctx.refresh();
            if (!constraint) document.getElementById(`${prefix}-property`)?.focus();
          });
        },
      },
    },
    h(
      'div',
      { class: 'constraint-row' },
      h('div', { class: 'field' }, label('Property', property), property),
      h('div', { class: 'field' }, label('Operator', operator), operator),
      h('div', { class: 'field' }, label('Value', value), value),
      h(
        'div',
        { class: 'actions' },
        h('button', { type: 'submit', class: constraint ? 'button small' : 'button small primary' }, constraint ? 'Save' : 'Add constraint'),
        constraint ? h('button', { type: 'button', class: 'button small danger', 'aria-label': 'Delete constraint', on: { click: remove } }, 'Delete') : null,
      ),
    ),
    help,
    problem,
    errors,
  );
  return form;
}

function distributionForm(ctx, segment) {
  const { flag } = ctx;
  const prefix = `segment-${segment.id}-distribution`;
  if (!flag.variants.length) {
    return h(
      'div',
      { class: 'distribution' },
      h('h4', {}, 'Distribution'),
      h('p', { class: 'muted' }, 'Add a variant first; then split this segment between the variants here.'),
    );
  }
  const errors = errorSlot();
  const percentOf = (variant) => segment.distributions.find((d) => d.variantID === variant.id)?.percent ?? 0;
  const inputs = flag.variants.map((variant) =>
    h('input', { id: `${prefix}-${variant.id}`, type: 'number', min: 0, max: 100, step: 1, value: percentOf(variant), class: 'percent' }),
  );
  const total = h('p', { class: 'total', id: `${prefix}-total`, 'aria-live': 'polite' });
  const save = h('button', { type: 'submit', class: 'button' }, 'Save distribution');
  const update = () => {
    const percents = inputs.map((input) => Number(input.value || 0));
    const sum = percents.reduce((a, b) => a + b, 0);
    const whole = percents.every((p) => Number.isInteger(p) && p >= 0 && p <= 100);
    const ok = whole && sum === 100;
    total.textContent = !whole
      ? `Total ${sum}%: use whole numbers from 0 to 100.`
      : ok
        ? 'Total 100% ✓'
        : `Total ${sum}%: must be exactly 100% (${sum < 100 ? `${100 - sum} to add` : `${sum - 100} too many`}).`;
    total.className = ok ? 'total ok' : 'total bad';
    save.disabled = !ok;
  };
  for (const input of inputs) input.addEventListener('input', update);
  update();
  const splitEvenly = () => {
    const share = Math.floor(100 / inputs.length);
    inputs.forEach((input, index) => {
      input.value = share + (index < 100 - share * inputs.length ? 1 : 0);
      input.dataset.dirty = '1';
    });
    update();
  };
  const form = h(
    'form',
    {
      class: 'distribution',
      on: {
        submit: (event) => {
          event.preventDefault();
          run(event.submitter, errors, async () => {
            const distributions = flag.variants
              .map((variant, index) => ({ variantID: variant.id, variantKey: variant.key, percent: Number(inputs[index].value || 0) }))
              .filter((distribution) => distribution.percent > 0);
            await api.put(`/flags/${flag.id}/segments/${segment.id}/distributions`, { distributions });
            markSaved(form);
            await ctx.refresh();
          });
        },
      },
    },
    h(
      'fieldset',
      {},
      h('legend', {}, 'Distribution'),
      h('p', { class: 'help' }, 'How the entities in the rollout are split between variants (%). A given entity always gets the same variant.'),
      h(
        'div',
        { class: 'percents' },
        flag.variants.map((variant, index) => field(variant.key, inputs[index])),
      ),
      total,
      h(
        'div',
        { class: 'actions' },
        save,
        h('button', { type: 'button', class: 'button', on: { click: splitEvenly } }, 'Split evenly'),
      ),
    ),
    errors,
  );
  return form;
}

function newSegmentForm(ctx) {
  const { flag } = ctx;
  const errors = errorSlot();
  const description = h('input', { id: 'new-segment-description', autocomplete: 'off', placeholder: 'e.g. Users in California' });
  const rollout = rolloutField('new-segment-rollout', 100);
  const form = h(
    'form',
    {
      class: 'new-segment',
      'aria-label': 'New segment',
      on: {
        submit: (event) => {
          event.preventDefault();
          run(event.submitter, errors, async () => {
            if (!description.value.trim()) throw new Error('Describe who the segment is for.');
            await api.post(`/flags/${flag.id}/segments`, {
              description: description.value.trim(),
              rolloutPercent: Number(rollout.number.value),
            });
            description.value = '';
            markSaved(form);
            await ctx.refresh();
          });
        },
      },
    },
    h('h3', {}, 'New segment'),
    h('div', { class: 'row' }, field('Description', description, 'New segments go last.'), rollout.wrapper),
    h('div', { class: 'actions' }, h('button', { type: 'submit', class: 'button primary' }, 'Add segment')),
    errors,
  );
  return form;
}
