/**
 * Reads a README section as a list of steps: files to write (a fenced block
 * whose first line is `// <path>`), shell scripts to run (```sh), and the
 * output expected of the script before it (```text).
 *
 * @module
 */

/** One step of a README section. */
export type ReadmeStep =
  | { kind: "file"; path: string; text: string }
  | { kind: "sh"; script: string; expected?: string };

/**
 * Returns the steps of the section that starts with `heading`.
 *
 * @param markdown The README.
 * @param heading The section's heading line, e.g. `## Use it in your project`.
 * @returns Its steps, in order.
 * @throws {Error} When the section is not there.
 */
export function readmeSteps(markdown: string, heading: string): ReadmeStep[] {
  const start = markdown.indexOf(`\n${heading}\n`);
  if (start < 0) throw new Error(`README has no section "${heading}"`);
  const end = markdown.indexOf("\n## ", start + heading.length + 2);
  const section = markdown.slice(start, end < 0 ? undefined : end);
  const steps: ReadmeStep[] = [];
  for (const [, lang, body] of section.matchAll(/^```(\w*)\n([\s\S]*?)^```$/gm)) {
    const text = body!;
    const file = /^\/\/ (\S+)\n/.exec(text);
    if (lang === "sh") {
      steps.push({ kind: "sh", script: text });
    } else if (lang === "text") {
      const last = steps.at(-1);
      if (last?.kind !== "sh") throw new Error("a ```text block must follow a ```sh block");
      last.expected = text;
    } else if (file) {
      steps.push({ kind: "file", path: file[1]!, text });
    }
  }
  return steps;
}
