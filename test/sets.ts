/**
 * Properties of the layer's runs on every set (l1, l∞, l2, simplex) and both schedules,
 * over seeded random problems: every iterate lies in the set, the reported Frank-Wolfe
 * gap is the gap (non-negative, an upper bound on the suboptimality) and falls, the
 * status says why the run stopped, and the default schedule reaches the exact solver's
 * objective.
 */
import t, { type Test } from 'tap'
import { dfwLayer, resolveSchedule } from '../src/fw/Layer.js'
import { type FwState, fwStep, initialState } from '../src/fw/Step.js'
import { violation } from '../src/fw/Oracle.js'
import type { SetKind } from '../src/fw/Problem.js'
import { solveExact } from '../src/fw/exact/index.js'
import {
  type N, type Plain, SETS, dot, maxAbs, mulMV, norm, paperPlain, randomPlain, rng, toParams, toProblem, withRadius
} from './helpers/layerFixtures.js'

const SCHEDULES = ['paper', 'default'] as const
type ScheduleName = (typeof SCHEDULES)[number]

/** Binding (factor < 1) and non-binding problems for a set; the simplex's t scales against ‖x_unc‖₁. */
const problems = (set: SetKind): Array<{ name: string; p: Plain }> => {
  const out: Array<{ name: string; p: Plain }> = []
  for (const [seed, n] of [[1, 6], [2, 15], [3, 30]] as const) {
    const base = randomPlain(rng(10 * seed + SETS.indexOf(set)), n)
    out.push({ name: `binding n=${n} seed=${seed}`, p: withRadius(set, base, set === 'l1' ? 0.2 : 0.5) })
    out.push({ name: `non-binding n=${n} seed=${seed}`, p: withRadius(set, base, 3) })
  }
  out.push({ name: 'paperProblem n=12 seed=0', p: paperPlain(12, 0) })
  return out
}

/** The schedule's options: the paper schedule gets its L from power iteration. */
const scheduleOptions = (schedule: ScheduleName) => ({ schedule })

/** Runs `steps` Frank-Wolfe steps with the schedule's step and returns every state (the initial one first). */
const states = (set: SetKind, schedule: ScheduleName, p: Plain, steps: number): FwState<N>[] => {
  const theta = toParams(p)
  const sch = resolveSchedule(set, theta, { ...scheduleOptions(schedule), maxIterations: steps, tolerance: 0 })
  const step = fwStep<N>(sch.step)
  let s = initialState<N>(set)(theta)[0]
  const out = [s]
  for (let k = 0; k < steps; k++) {
    s = step([theta, s])[0]
    out.push(s)
  }
  return out
}

/** The Frank-Wolfe gap gᵀx − min_{s∈C} gᵀs, computed here from a fresh g = P x + q. */
const gapOf = (set: SetKind, p: Plain, x: ArrayLike<number>): { gap: number; scale: number } => {
  const g = mulMV(p.n, p.P, x).map((v, i) => v + p.q[i]!)
  let support = 0
  switch (set) {
    case 'l1': support = p.t * Math.max(...g.map((v, i) => Math.abs(v) / p.w[i]!)); break
    case 'linf': support = p.t * g.reduce((a, v) => a + Math.abs(v), 0); break
    case 'l2': support = p.t * norm(g); break
    case 'simplex': support = -p.t * Math.min(...g); break
  }
  return { gap: dot(g, x) + support, scale: Math.abs(dot(g, x)) + Math.abs(support) }
}

const objectiveOf = (p: Plain, x: ArrayLike<number>): number => 0.5 * dot(x, mulMV(p.n, p.P, x)) + dot(p.q, x)

// -------------------------------------------------------------------------------------
// feasibility
// -------------------------------------------------------------------------------------

t.test('every iterate lies in the set (violation ≤ 1e-12·t), every set and schedule, 60 steps', async (t) => {
  let worst = 0
  for (const set of SETS) {
    for (const schedule of SCHEDULES) {
      for (const { name, p } of problems(set)) {
        let v = 0
        for (const s of states(set, schedule, p, 60)) v = Math.max(v, violation(set, s.x, toParams(p).w, p.t) / p.t)
        worst = Math.max(worst, v)
        t.ok(v <= 1e-12, `${set}/${schedule} ${name}: worst violation ${v.toExponential(2)}·t`)
      }
    }
  }
  t.comment(`worst violation ${worst.toExponential(2)}·t`)
})

t.test('the layer\'s x with maxIterations K (tolerance 0) lies in the set for K = 1..30', async (t) => {
  for (const set of SETS) {
    for (const schedule of SCHEDULES) {
      const p = problems(set)[0]!.p
      let v = 0, wrongK = 0
      for (let K = 1; K <= 30; K++) {
        const r = dfwLayer({ schedule, backward: 'unrolled', maxIterations: K, tolerance: 0 })(toProblem(p, set))
        if (r.iterations !== K || r.status !== 'maxIterations') wrongK++
        v = Math.max(v, violation(set, r.x, toParams(p).w, p.t) / p.t)
      }
      t.ok(v <= 1e-12, `${set}/${schedule}: worst violation ${v.toExponential(2)}·t`)
      t.equal(wrongK, 0, `${set}/${schedule}: every run took exactly K steps and reports maxIterations`)
    }
  }
})

t.test('the implicit layer\'s (polished) x lies in the set', async (t) => {
  for (const set of SETS) {
    for (const schedule of SCHEDULES) {
      for (const { name, p } of problems(set)) {
        const r = dfwLayer({ schedule })(toProblem(p, set))
        const v = violation(set, r.x, toParams(p).w, p.t) / p.t
        t.ok(v <= 1e-12, `${set}/${schedule} ${name}: violation ${v.toExponential(2)}·t`)
      }
    }
  }
})

// -------------------------------------------------------------------------------------
// the gap
// -------------------------------------------------------------------------------------

t.test('the reported gap is non-negative and is the Frank-Wolfe gap at the returned x', async (t) => {
  for (const set of SETS) {
    for (const schedule of SCHEDULES) {
      for (const { name, p } of problems(set)) {
        for (const backward of ['unrolled', 'implicit'] as const) {
          const r = dfwLayer({ schedule, backward, maxIterations: 40 })(toProblem(p, set))
          const ref = gapOf(set, p, r.x.data)
          t.ok(r.gap >= 0, `${set}/${schedule}/${backward} ${name}: gap ${r.gap} ≥ 0`)
          t.ok(Math.abs(r.gap - Math.max(0, ref.gap)) <= 1e-12 * Math.max(1, ref.scale),
            `${set}/${schedule}/${backward} ${name}: gap ${r.gap} vs ${ref.gap}`)
          const fErr = Math.abs(r.objective - objectiveOf(p, r.x.data))
          t.ok(fErr <= 1e-12 * Math.max(1, Math.abs(r.objective)), `${set}/${schedule}/${backward} ${name}: objective`)
        }
      }
    }
  }
})

t.test('the gap bounds the suboptimality: objective − f* ≤ gap', async (t) => {
  for (const set of SETS) {
    for (const schedule of SCHEDULES) {
      for (const { name, p } of problems(set)) {
        const fstar = solveExact(set, toParams(p)).objective
        for (const K of [1, 5, 40]) {
          const r = dfwLayer({ schedule, backward: 'unrolled', maxIterations: K, tolerance: 0 })(toProblem(p, set))
          t.ok(r.objective - fstar <= r.gap + 1e-12 * Math.max(1, Math.abs(fstar)),
            `${set}/${schedule} ${name} K=${K}: f − f* = ${(r.objective - fstar).toExponential(3)} ≤ gap ${r.gap.toExponential(3)}`)
        }
      }
    }
  }
})

t.test('the gap falls: gap at K = 200 < gap at K = 5 (tolerance 0)', async (t) => {
  for (const set of SETS) {
    for (const schedule of SCHEDULES) {
      for (const { name, p } of problems(set).slice(0, 4)) {
        const run = (K: number) => dfwLayer({ schedule, backward: 'unrolled', maxIterations: K, tolerance: 0, checkpoint: 1000 })(toProblem(p, set))
        const g5 = run(5).gap, g200 = run(200).gap
        t.ok(g200 < g5 || g5 === 0, `${set}/${schedule} ${name}: gap ${g5.toExponential(2)} → ${g200.toExponential(2)}`)
      }
    }
  }
})

t.test('a converged default run has gap ≤ tolerance·|f| (both backward modes, two tolerances)', async (t) => {
  let converged = 0
  for (const set of SETS) {
    for (const { name, p } of problems(set)) {
      for (const tolerance of [1e-9, 1e-6]) {
        for (const backward of ['unrolled', 'implicit'] as const) {
          const r = dfwLayer({ backward, tolerance })(toProblem(p, set))
          if (r.status !== 'converged') continue
          converged++
          t.ok(r.gap <= tolerance * Math.abs(r.objective) * (1 + 1e-9),
            `${set}/${backward} tol=${tolerance} ${name}: gap ${r.gap.toExponential(2)} ≤ ${(tolerance * Math.abs(r.objective)).toExponential(2)} after ${r.iterations} steps`)
        }
      }
    }
  }
  t.ok(converged >= 40, `most runs converge (${converged} of 112)`)
})

t.test('a converged paper run stopped on the relative change of f (≤ tolerance)', async (t) => {
  for (const set of SETS) {
    for (const { name, p } of problems(set)) {
      const theta = toParams(p)
      const sch = resolveSchedule(set, theta, { schedule: 'paper' })
      const r = dfwLayer({ schedule: 'paper', backward: 'unrolled' })(toProblem(p, set))
      if (r.status !== 'converged') continue
      const ss = states(set, 'paper', p, r.iterations)
      const last = ss[ss.length - 1]!
      t.ok(Math.abs(last.f - last.fPrev) / Math.abs(last.fPrev) <= sch.tolerance, `${set} ${name}: stopped after ${r.iterations}`)
      t.ok(maxAbs(Array.from(last.x.data, (v, i) => v - r.x.data[i]!)) <= 1e-12, `${set} ${name}: the layer's x is that state's`)
    }
  }
})

// -------------------------------------------------------------------------------------
// status
// -------------------------------------------------------------------------------------

t.test('status is maxIterations when the cap binds, and iterations equals the cap', async (t) => {
  for (const set of SETS) {
    for (const schedule of SCHEDULES) {
      const p = problems(set)[2]!.p
      for (const K of [1, 3]) {
        for (const backward of ['unrolled', 'implicit'] as const) {
          const r = dfwLayer({ schedule, backward, maxIterations: K })(toProblem(p, set))
          t.equal(r.iterations, K, `${set}/${schedule}/${backward} K=${K}: iterations`)
          // the implicit mode polishes the capped iterate to the exact minimizer: its status
          // says the polished point is certified, and its gap shows it
          if (backward === 'implicit') {
            t.equal(r.status, 'converged', `${set}/${schedule}/${backward} K=${K}: status`)
            t.ok(r.gap <= 1e-12 * (Math.abs(r.objective) + 1), `${set}/${schedule}/${backward} K=${K}: the certified point's gap ${r.gap.toExponential(2)}`)
          } else t.equal(r.status, 'maxIterations', `${set}/${schedule}/${backward} K=${K}: status (gap ${r.gap.toExponential(2)})`)
        }
      }
      const r0 = dfwLayer({ schedule, maxIterations: 7, tolerance: 0, backward: 'unrolled' })(toProblem(p, set))
      t.equal(r0.status, 'maxIterations', `${set}/${schedule} tolerance 0: status`)
      t.equal(r0.iterations, 7, `${set}/${schedule} tolerance 0: iterations`)
      const r1 = dfwLayer({ schedule, maxIterations: 7, tolerance: 0 })(toProblem(p, set))
      t.equal(r1.iterations, 7, `${set}/${schedule} tolerance 0, implicit: exactly 7 steps before the polish`)
      t.equal(r1.status, 'converged', `${set}/${schedule} tolerance 0, implicit: the polished point is certified`)
    }
  }
})

t.test('status is converged when the stop test fires before the cap', async (t) => {
  for (const set of SETS) {
    for (const schedule of SCHEDULES) {
      const p = problems(set)[0]!.p
      const r = dfwLayer({ schedule, tolerance: schedule === 'paper' ? 1e-3 : 1e-6, maxIterations: 100000 })(toProblem(p, set))
      t.equal(r.status, 'converged', `${set}/${schedule}: after ${r.iterations} steps`)
      t.ok(r.iterations < 100000, `${set}/${schedule}: stopped before the cap`)
    }
  }
})

// -------------------------------------------------------------------------------------
// accuracy
// -------------------------------------------------------------------------------------

const objectiveAgreement = (t: Test, set: SetKind, name: string, p: Plain): void => {
  const fstar = solveExact(set, toParams(p)).objective
  const r = dfwLayer()(toProblem(p, set))
  const err = Math.abs(r.objective - fstar) / Math.abs(fstar)
  t.ok(err <= 1e-6, `${set} ${name}: objective ${r.objective} vs ${fstar} (relative ${err.toExponential(2)}, ${r.status} after ${r.iterations})`)
}

t.test('the default layer\'s objective is within 1e-6 of solveExact\'s (binding and non-binding)', async (t) => {
  for (const set of SETS) {
    for (const { name, p } of problems(set)) {
      objectiveAgreement(t, set, name, p)
    }
  }
})

