/**
 * The environment for a command a test spawns, without the test runner's coverage hooks.
 *
 * tap passes `NODE_OPTIONS=--import …/processinfo` and `_TAPJS_PROCESSINFO_*` to every child,
 * so a spawned `dfw` or example would add its own coverage of the same sources, transpiled by
 * another tool (tsc's dist/ or tsx) with other line maps. Merging those made the coverage
 * report change from run to run, and once fall below the thresholds. The suite's coverage is
 * therefore that of the code its tests load in-process; spawned commands are checked by what
 * they print and exit with.
 */
export const childEnv = (): NodeJS.ProcessEnv =>
  Object.fromEntries(
    Object.entries(process.env).filter(([k]) => k !== 'NODE_OPTIONS' && k !== 'NODE_V8_COVERAGE' && !k.startsWith('_TAPJS_PROCESSINFO')),
  )
