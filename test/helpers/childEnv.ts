/**
 * The environment for a command a test spawns, without the test runner's coverage hooks.
 *
 * tap passes `NODE_OPTIONS=--import …/processinfo` and `_TAPJS_PROCESSINFO_*` to every child,
 * so a spawned `dfw` or example would add its own coverage of the same sources, transpiled by
 * another tool (tsc's dist/ or tsx) with other byte offsets. tap's coverage merge does not
 * survive that: with those children counted, the report said 31 % of functions were covered,
 * against 80–100 % per file when each test file ran alone. Stripping the variables is not
 * enough, because tap's wrapped `spawn` puts `NODE_OPTIONS` back; `_TAPJS_PROCESSINFO_COVERAGE_=0`
 * is the switch (read by @tapjs/processinfo) that turns coverage off in the child. The suite's coverage is
 * therefore that of the code its tests load in-process; spawned commands are checked by what
 * they print and exit with.
 */
export const childEnv = (): NodeJS.ProcessEnv => ({
  ...Object.fromEntries(
    Object.entries(process.env).filter(([k]) => k !== 'NODE_OPTIONS' && k !== 'NODE_V8_COVERAGE' && !k.startsWith('_TAPJS_PROCESSINFO')),
  ),
  _TAPJS_PROCESSINFO_COVERAGE_: '0'
})
