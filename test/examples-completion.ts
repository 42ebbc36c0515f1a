// The matrix-completion example's smoke run, as a user runs it (examples/completion).
import t from 'tap'
import { spawnSync } from 'node:child_process'
import { existsSync, mkdtempSync, readFileSync, rmSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { childEnv } from './helpers/childEnv.js'

const tsx = (args: string[]) => spawnSync(process.execPath, ['--import', 'tsx', ...args], { encoding: 'utf8', env: childEnv(), timeout: 240_000 })

interface Row { epoch: number; loss: number; testRmse: number; t: number; nuclearNorm: number; normRatio: number; status: string; derivative: string }
interface Out {
  svg: string
  summary: { untrained: { testRmse: number }; offsetsOnly: { testRmse: number }; trained: { testRmse: number }; maxNormRatio: number }
  epochs: Row[]
}

t.test('examples/completion --quick --json: the loss through the layer falls, the held-out error beats the baselines, every L is in the ball, the SVG is written', async (t) => {
  const dir = mkdtempSync(join(tmpdir(), 'dfw-completion-'))
  t.teardown(() => rmSync(dir, { recursive: true, force: true }))
  const svg = join(dir, 'tmp.svg')
  const r = tsx(['examples/completion/main.ts', '--quick', '--json', '--out', svg])
  t.equal(r.status, 0, r.stderr)
  const out = JSON.parse(r.stdout) as Out
  t.equal(out.svg, svg)
  const first = out.epochs[0]!, last = out.epochs[out.epochs.length - 1]!
  t.equal(out.epochs.length, 13, 'epoch 0 and twelve epochs')
  t.ok(last.loss < 0.5 * first.loss, `the validation loss through the layer falls: ${first.loss} → ${last.loss}`)
  const s = out.summary
  t.ok(s.trained.testRmse < s.untrained.testRmse, `held-out RMSE below the untrained model's: ${s.trained.testRmse} < ${s.untrained.testRmse}`)
  t.ok(s.trained.testRmse < s.offsetsOnly.testRmse, `held-out RMSE below the offsets-only baseline's: ${s.trained.testRmse} < ${s.offsetsOnly.testRmse}`)
  t.ok(out.epochs.every((e) => e.nuclearNorm <= e.t * (1 + 1e-9)), `every L has ‖L‖_* ≤ t(1 + 1e-9) (max ratio ${s.maxNormRatio})`)
  t.ok(out.epochs.every((e) => e.status === 'converged'), 'every solve is certified')
  t.ok(existsSync(svg), 'the SVG exists')
  t.match(readFileSync(svg, 'utf8'), /^<\?xml[^>]*>\s*<svg xmlns="http:\/\/www\.w3\.org\/2000\/svg"[\s\S]*layer model[\s\S]*<\/svg>\s*$/)
})

t.test('examples/completion refuses an unknown argument with exit 2', async (t) => {
  const r = tsx(['examples/completion/main.ts', '--fast'])
  t.equal(r.status, 2)
  t.equal(r.stdout, '')
  t.match(r.stderr, /unknown argument "--fast"/)
})
