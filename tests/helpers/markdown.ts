// Reading Markdown pages for tests/docs.test.ts: the relative links a page makes, the anchors its headings give
// (GitHub's rule), and the repository paths it names in prose or code. Plain string work, no Markdown parser: the
// pages are ours and keep to a small subset (inline links, ATX headings, fenced code blocks).
import { existsSync, readFileSync, statSync } from "node:fs";
import path from "node:path";

export interface MarkdownLink {
  /** The target as written, e.g. "docs/serving.md#the-demo-page". */
  target: string;
  /** 1-based line of the page. */
  line: number;
}

/** Fenced code blocks blanked out (line count kept), so that code is not read as links or headings. */
export function withoutCodeBlocks(text: string): string {
  let inFence = false;
  return text
    .split("\n")
    .map((line) => {
      if (/^\s*(```|~~~)/.test(line)) {
        inFence = !inFence;
        return "";
      }
      return inFence ? "" : line;
    })
    .join("\n");
}

/** Inline links `[text](target)` and images, outside code blocks; an optional title after the target is dropped. */
export function markdownLinks(text: string): MarkdownLink[] {
  const links: MarkdownLink[] = [];
  withoutCodeBlocks(text)
    .split("\n")
    .forEach((line, index) => {
      for (const match of line.matchAll(/\]\(\s*<?([^)\s>]+)>?(?:\s+"[^"]*")?\s*\)/g)) {
        links.push({ target: match[1], line: index + 1 });
      }
    });
  return links;
}

/** A link that leaves the repository (a scheme such as https: or mailto:) is not checked here. */
export function isExternal(target: string): boolean {
  return /^[a-z][a-z0-9+.-]*:/i.test(target);
}

/** GitHub's anchor for a heading: lower case, punctuation dropped (letters, digits, "_", "-" and spaces kept),
 *  each space a "-". */
export function headingSlug(heading: string): string {
  return heading
    .trim()
    .toLowerCase()
    .replace(/[^\p{L}\p{M}\p{N}\p{Pc}\- ]/gu, "")
    .replace(/ /g, "-");
}

/** The anchors a page's headings give; a repeated heading gets "-1", "-2", … as on GitHub. */
export function headingAnchors(text: string): Set<string> {
  const anchors = new Set<string>();
  const seen = new Map<string, number>();
  for (const line of withoutCodeBlocks(text).split("\n")) {
    const heading = /^#{1,6}\s+(.*?)\s*#*\s*$/.exec(line);
    if (!heading) continue;
    const slug = headingSlug(heading[1]);
    const count = seen.get(slug) ?? 0;
    seen.set(slug, count + 1);
    anchors.add(count === 0 ? slug : `${slug}-${count}`);
  }
  return anchors;
}

/** Why a relative link of `page` is broken (its file or its heading missing), or null when it leads somewhere. */
export function brokenLink(page: string, target: string): string | null {
  const [file, anchor] = splitAnchor(target);
  const resolved = file === "" ? page : path.resolve(path.dirname(page), decodeURI(file));
  if (!existsSync(resolved)) return `${file} does not exist`;
  if (anchor === undefined || !resolved.endsWith(".md") || statSync(resolved).isDirectory()) return null;
  const anchors = headingAnchors(readFileSync(resolved, "utf8"));
  return anchors.has(anchor) ? null : `${file || path.basename(page)} has no heading #${anchor}`;
}

function splitAnchor(target: string): [string, string | undefined] {
  const hash = target.indexOf("#");
  return hash < 0 ? [target, undefined] : [target.slice(0, hash), target.slice(hash + 1)];
}

/** Paths under the given top-level folders that a page names anywhere (prose, code spans, code blocks), e.g.
 *  "lib/compute/kernels/" or "tests/kernels.test.ts"; a trailing "." or "," that ends a sentence is not part of it. */
export function repositoryPaths(text: string, folders: readonly string[]): string[] {
  const pattern = new RegExp(String.raw`(?<![\w./<-])(?:${folders.join("|")})/[\w./-]*`, "g");
  const found = new Set<string>();
  for (const match of text.matchAll(pattern)) {
    if (match[0].includes("...")) continue; // a placeholder such as `lib/...`
    found.add(match[0].replace(/[.,]+$/, ""));
  }
  return [...found];
}
