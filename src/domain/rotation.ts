/**
 * The CA rotation state machine (`pki rotate`), as data: its phases, and for every phase × step what the step does —
 * the phase it records before it talks to the service (its intent), the phase it records when done, or the refusal
 * with its error code. `src/app/rotation/` does the work of each step; whether a step may run, and what it records,
 * is decided here. Pure: no I/O.
 *
 * ```
 *            start                  switch               finish                  (finish)
 *   (none) ───────► starting ─────► started ─────► switched ─────► finishing ─────► finished
 *                      │  (start)      │               │
 *                      └───────────────┴─── abort ─────┴──► aborting ─────► aborted
 *                                                              (abort)
 * ```
 * A step that talks to AWS records its intent first (`starting`, `finishing`, `aborting`), so a step that died half-way
 * is completed by running it again. `finished` and `aborted` close a rotation: for the steps they are as if there
 * were none (a new rotation may start).
 */

/** The recorded phase of a rotation (the store's `rotation.phase`). */
export type RotationPhase = 'starting' | 'started' | 'switched' | 'finishing' | 'finished' | 'aborting' | 'aborted';

export const ROTATION_PHASES: readonly RotationPhase[] = ['starting', 'started', 'switched', 'finishing', 'finished', 'aborting', 'aborted'];

/** A phase as the steps see it: `none` when the anchor has no open rotation. */
export type RotationState = RotationPhase | 'none';

export const ROTATION_STATES: readonly RotationState[] = ['none', ...ROTATION_PHASES];

/** The commands of `pki rotate` that read or change the phase. */
export type RotationStep = 'plan' | 'start' | 'switch' | 'finish' | 'abort' | 'status';

export const ROTATION_STEPS: readonly RotationStep[] = ['plan', 'start', 'switch', 'finish', 'abort', 'status'];

/** Phases after which nothing is open: the store's "open rotation" is any other phase. */
export const TERMINAL_PHASES: readonly RotationPhase[] = ['finished', 'aborted'];

/** Phases in which the old CA (and every CA below it) no longer issues. */
export const CLOSED_PHASES: readonly RotationPhase[] = ['switched', 'finishing', 'finished'];

/** What a step does in a phase. */
export type Transition =
  /** Reads only (plan, status): nothing is recorded. */
  | { kind: 'read' }
  /** Already done (switch on a switched rotation): returns the rotation as it is, nothing recorded, nothing called. */
  | { kind: 'done' }
  /**
   * Runs the step: records `intent` first when there is one (`create` when the rotation is new), does the step's
   * work, then records `to` (nothing when `to` is the phase it is in: a re-run of start in `started`).
   */
  | { kind: 'run'; intent?: RotationPhase; to: RotationPhase; create?: true }
  /** Refused with this error code; `need` says which phases the step needs (for the message). */
  | { kind: 'refuse'; code: RefusalCode; need?: string };

export type RefusalCode = 'STATE_NO_ROTATION' | 'STATE_ROTATION_IN_PROGRESS' | 'STATE_ROTATION_PHASE';

const NO_ROTATION: Transition = { kind: 'refuse', code: 'STATE_NO_ROTATION' };
const IN_PROGRESS: Transition = { kind: 'refuse', code: 'STATE_ROTATION_IN_PROGRESS' };
const phaseNeeded = (need: string): Transition => ({ kind: 'refuse', code: 'STATE_ROTATION_PHASE', need });

/**
 * The table. `start` against an open rotation of a *different* new CA is refused with STATE_ROTATION_IN_PROGRESS
 * before this table is consulted (it is another rotation, not a step of this one): see {@link startTransition}.
 */
export const ROTATION_TABLE: Readonly<Record<RotationState, Readonly<Record<RotationStep, Transition>>>> = {
  none: {
    plan: { kind: 'read' },
    start: { kind: 'run', create: true, intent: 'starting', to: 'started' },
    switch: NO_ROTATION,
    finish: NO_ROTATION,
    abort: NO_ROTATION,
    status: { kind: 'read' },
  },
  starting: {
    plan: IN_PROGRESS,
    start: { kind: 'run', to: 'started' },
    switch: phaseNeeded('started'),
    finish: phaseNeeded('switched'),
    abort: { kind: 'run', intent: 'aborting', to: 'aborted' },
    status: { kind: 'read' },
  },
  started: {
    plan: IN_PROGRESS,
    start: { kind: 'run', to: 'started' },
    switch: { kind: 'run', to: 'switched' },
    finish: phaseNeeded('switched'),
    abort: { kind: 'run', intent: 'aborting', to: 'aborted' },
    status: { kind: 'read' },
  },
  switched: {
    plan: IN_PROGRESS,
    start: phaseNeeded('starting or started'),
    switch: { kind: 'done' },
    finish: { kind: 'run', intent: 'finishing', to: 'finished' },
    abort: { kind: 'run', intent: 'aborting', to: 'aborted' },
    status: { kind: 'read' },
  },
  finishing: {
    plan: IN_PROGRESS,
    start: phaseNeeded('starting or started'),
    switch: phaseNeeded('started'),
    finish: { kind: 'run', to: 'finished' },
    abort: phaseNeeded('starting, started or switched'),
    status: { kind: 'read' },
  },
  aborting: {
    plan: IN_PROGRESS,
    start: phaseNeeded('starting or started'),
    switch: phaseNeeded('started'),
    finish: phaseNeeded('switched'),
    abort: { kind: 'run', to: 'aborted' },
    status: { kind: 'read' },
  },
  // A closed rotation is no open rotation: the steps see `none`.
  finished: {} as Record<RotationStep, Transition>,
  aborted: {} as Record<RotationStep, Transition>,
};
for (const t of TERMINAL_PHASES) (ROTATION_TABLE as Record<RotationState, Record<RotationStep, Transition>>)[t] = ROTATION_TABLE.none;

/** What `step` does when the anchor's open rotation is in `phase` (`none` or a terminal phase: no open rotation). */
export function transition(phase: RotationState, step: RotationStep): Transition {
  return ROTATION_TABLE[phase][step];
}

/**
 * `start` names its new CA: against an open rotation to another CA it is another rotation (STATE_ROTATION_IN_PROGRESS);
 * against the same one it is a step of it, decided by the table.
 */
export function startTransition(phase: RotationState, sameNewCa: boolean): Transition {
  if (phase !== 'none' && !TERMINAL_PHASES.includes(phase) && !sameNewCa) return IN_PROGRESS;
  return transition(phase, 'start');
}

/**
 * The phases from which `step` may record `to` (the store's compare-and-set on the phase): those where the step
 * records `to` as its intent, or (without an intent) as its end phase. A step's intent phase is itself such a phase
 * for the end phase (its entry resumes the step).
 */
export function phasesBefore(step: RotationStep, to: RotationPhase): RotationPhase[] {
  return ROTATION_PHASES.filter((from) => {
    if (TERMINAL_PHASES.includes(from)) return false;
    const t = ROTATION_TABLE[from][step];
    return t.kind === 'run' && (t.intent ? t.intent === to : t.to === to && from !== to);
  });
}

/** The step that moves a rotation on from `phase` (an interrupted step is re-run), if any. */
export const NEXT_STEP: Readonly<Partial<Record<RotationPhase, Exclude<RotationStep, 'plan' | 'status'>>>> = {
  starting: 'start',
  started: 'switch',
  switched: 'finish',
  finishing: 'finish',
  aborting: 'abort',
};

/** A step's intent phase that did not reach its end: the step to run again. */
export const INTERRUPTED: Readonly<Partial<Record<RotationPhase, 'start' | 'finish' | 'abort'>>> = { starting: 'start', finishing: 'finish', aborting: 'abort' };

/** Which bundles (of a rotation that changes the trust anchor) the service may hold in each phase. */
export type BundleName = 'before' | 'during' | 'after';
export const BUNDLES_IN_PHASE: Readonly<Record<RotationPhase, readonly BundleName[]>> = {
  starting: ['during', 'before'],
  started: ['during'],
  switched: ['during'],
  finishing: ['after', 'during'],
  aborting: ['before', 'during'],
  finished: ['after'],
  aborted: ['before'],
};

/** Whether the old CA's side is closed for issuance in `phase`. */
export const closedForIssuance = (phase: RotationPhase): boolean => CLOSED_PHASES.includes(phase);
