/**
 * the CA rotation state machine as a table (src/domain/rotation.ts): every phase × step, written out here as the
 * specification the commands implement (test/e2e/rotation*.test.ts run the same steps against the emulator).
 */
import { describe, expect, it } from 'vitest';
import {
  BUNDLES_IN_PHASE,
  CLOSED_PHASES,
  INTERRUPTED,
  NEXT_STEP,
  ROTATION_PHASES,
  ROTATION_STATES,
  ROTATION_STEPS,
  closedForIssuance,
  phasesBefore,
  startTransition,
  transition,
  type RotationState,
  type RotationStep,
} from '../../src/domain/rotation.js';

/** Expected outcome, compactly: "read", "done", "run:INTENT>TO" / "run:>TO" / "create:INTENT>TO", or the refusal code[/need]. */
const EXPECTED: Record<RotationState, Record<RotationStep, string>> = {
  none: { plan: 'read', start: 'create:starting>started', switch: 'STATE_NO_ROTATION', finish: 'STATE_NO_ROTATION', abort: 'STATE_NO_ROTATION', status: 'read' },
  starting: {
    plan: 'STATE_ROTATION_IN_PROGRESS',
    start: 'run:>started',
    switch: 'STATE_ROTATION_PHASE/started',
    finish: 'STATE_ROTATION_PHASE/switched',
    abort: 'run:aborting>aborted',
    status: 'read',
  },
  started: {
    plan: 'STATE_ROTATION_IN_PROGRESS',
    start: 'run:>started',
    switch: 'run:>switched',
    finish: 'STATE_ROTATION_PHASE/switched',
    abort: 'run:aborting>aborted',
    status: 'read',
  },
  switched: {
    plan: 'STATE_ROTATION_IN_PROGRESS',
    start: 'STATE_ROTATION_PHASE/starting or started',
    switch: 'done',
    finish: 'run:finishing>finished',
    abort: 'run:aborting>aborted',
    status: 'read',
  },
  finishing: {
    plan: 'STATE_ROTATION_IN_PROGRESS',
    start: 'STATE_ROTATION_PHASE/starting or started',
    switch: 'STATE_ROTATION_PHASE/started',
    finish: 'run:>finished',
    abort: 'STATE_ROTATION_PHASE/starting, started or switched',
    status: 'read',
  },
  aborting: {
    plan: 'STATE_ROTATION_IN_PROGRESS',
    start: 'STATE_ROTATION_PHASE/starting or started',
    switch: 'STATE_ROTATION_PHASE/started',
    finish: 'STATE_ROTATION_PHASE/switched',
    abort: 'run:>aborted',
    status: 'read',
  },
  // A closed rotation is no open rotation: a new one may start.
  finished: { plan: 'read', start: 'create:starting>started', switch: 'STATE_NO_ROTATION', finish: 'STATE_NO_ROTATION', abort: 'STATE_NO_ROTATION', status: 'read' },
  aborted: { plan: 'read', start: 'create:starting>started', switch: 'STATE_NO_ROTATION', finish: 'STATE_NO_ROTATION', abort: 'STATE_NO_ROTATION', status: 'read' },
};

function show(state: RotationState, step: RotationStep): string {
  const t = transition(state, step);
  switch (t.kind) {
    case 'read':
    case 'done':
      return t.kind;
    case 'run':
      return `${t.create ? 'create' : 'run'}:${t.intent ?? ''}>${t.to}`;
    case 'refuse':
      return t.need ? `${t.code}/${t.need}` : t.code;
  }
}

describe('rotation phases × steps (domain/rotation.ts)', () => {
  it('covers every phase and step', () => {
    expect([...ROTATION_STATES].sort()).toEqual(Object.keys(EXPECTED).sort());
    expect(ROTATION_STEPS.length).toBe(6);
  });

  for (const state of ROTATION_STATES)
    for (const step of ROTATION_STEPS)
      it(`${state} × ${step} → ${EXPECTED[state][step]}`, () => {
        expect(show(state, step)).toBe(EXPECTED[state][step]);
      });

  it('start against an open rotation to another new CA is another rotation (STATE_ROTATION_IN_PROGRESS), in every open phase', () => {
    for (const phase of ROTATION_PHASES) {
      const t = startTransition(phase, false);
      if (phase === 'finished' || phase === 'aborted') expect(show(phase, 'start')).toBe('create:starting>started');
      else expect(t).toEqual({ kind: 'refuse', code: 'STATE_ROTATION_IN_PROGRESS' });
    }
    expect(startTransition('none', false)).toEqual(transition('none', 'start'));
    expect(startTransition('started', true)).toEqual(transition('started', 'start'));
    expect(startTransition('switched', true)).toMatchObject({ kind: 'refuse', code: 'STATE_ROTATION_PHASE' });
  });

  it("the store's compare-and-set phases follow from the table", () => {
    expect(phasesBefore('start', 'started')).toEqual(['starting']);
    expect(phasesBefore('switch', 'switched')).toEqual(['started']);
    expect(phasesBefore('finish', 'finishing')).toEqual(['switched']);
    expect(phasesBefore('finish', 'finished')).toEqual(['finishing']);
    expect(phasesBefore('abort', 'aborting')).toEqual(['starting', 'started', 'switched']);
    expect(phasesBefore('abort', 'aborted')).toEqual(['aborting']);
    expect(phasesBefore('switch', 'finished')).toEqual([]);
  });

  it('names the next step of every open phase, the interrupted step of every intent phase', () => {
    expect(NEXT_STEP).toEqual({ starting: 'start', started: 'switch', switched: 'finish', finishing: 'finish', aborting: 'abort' });
    expect(INTERRUPTED).toEqual({ starting: 'start', finishing: 'finish', aborting: 'abort' });
    // Every intent in the table is an interrupted-step phase whose step resumes it.
    for (const state of ROTATION_STATES)
      for (const step of ROTATION_STEPS) {
        const t = transition(state, step);
        if (t.kind === 'run' && t.intent) {
          expect(INTERRUPTED[t.intent]).toBe(step);
          expect(transition(t.intent, step)).toEqual({ kind: 'run', to: t.to });
        }
      }
  });

  it('which bundles the service may hold in each phase, and which phases close the old CA for issuance', () => {
    expect(BUNDLES_IN_PHASE).toEqual({
      starting: ['during', 'before'],
      started: ['during'],
      switched: ['during'],
      finishing: ['after', 'during'],
      aborting: ['before', 'during'],
      finished: ['after'],
      aborted: ['before'],
    });
    expect(ROTATION_PHASES.filter(closedForIssuance)).toEqual(['switched', 'finishing', 'finished']);
    expect(CLOSED_PHASES).toEqual(['switched', 'finishing', 'finished']);
  });
});
