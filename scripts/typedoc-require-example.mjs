// A TypeDoc plugin: every exported declaration of the public API needs an `@example` block.
// Its warnings are validation warnings, so `treatValidationWarningsAsErrors` makes them fail the run.
//
// What is checked, and what is deliberately not:
// - Checked: every function, variable, class, interface, type alias and enum that is a direct
//   member of the project, of an entry-point module or of a namespace (so `exact.*` is checked
//   too) — the exports themselves, after `@internal`/`@hidden`/private ones have been removed.
// - A function passes if its declaration or any of its signatures carries the tag (TypeDoc moves
//   a function's comment onto its signature; one example covers an overload set).
// - The tag must have a body: an empty `@example` (or an empty fenced block, or a title alone) does
//   not count.
// - Not checked: members of classes, interfaces, enums, type literals and object-literal variables
//   (properties, methods, constructors). They are covered by the enclosing declaration, which is
//   itself always checked, so nothing reaches the docs without an example at its top level.
// - Not checked: namespaces and modules themselves; they are containers, and each of their
//   exports is checked. Re-exports (`export { a as b }`) are references to a checked target.
// Whether a declaration has a doc comment at all is TypeDoc's own `notDocumented` validation.
import { Application, ReflectionKind } from 'typedoc'

const CHECKED = ReflectionKind.Function | ReflectionKind.Variable | ReflectionKind.Class |
  ReflectionKind.Interface | ReflectionKind.TypeAlias | ReflectionKind.Enum

const CONTAINERS = ReflectionKind.Project | ReflectionKind.Module | ReflectionKind.Namespace

// TypeDoc wraps an unfenced `@example` body in a ```ts fence, so an empty tag arrives as "```ts\n\n```":
// strip the fences before asking whether any code or text is left.
/** @param {import('typedoc').CommentDisplayPart} p */
const body = (p) => (p.kind === 'code' ? p.text.replace(/^`{3,}[^\n]*(\n|$)/, '').replace(/(^|\n)`{3,}\s*$/, '') : p.text)

/** @param {import('typedoc').Comment | undefined} c */
const hasExample = (c) =>
  c?.blockTags.some((t) => t.tag === '@example' && t.content.some((p) => body(p).trim() !== '')) ?? false

/** @param {import('typedoc').Application} app */
export function load(app) {
  app.on(Application.EVENT_VALIDATE_PROJECT, (project) => {
    for (const r of project.getReflectionsByKind(CHECKED)) {
      // only the exports themselves, not members of classes, interfaces or type literals
      if (!r.parent?.kindOf(CONTAINERS)) continue
      const comments = [r.comment, ...(r.signatures ?? []).map((s) => s.comment)]
      if (comments.some(hasExample)) continue
      app.logger.warn(`${r.getFriendlyFullName()} (${ReflectionKind.singularString(r.kind)}) has no @example`)
    }
  })
}
