// Markdown as GitHub renders it, for the tests of the documentation.

/**
 * The anchors of a page's headings, as GitHub makes them (lower case, punctuation dropped,
 * spaces as '-', "-1", "-2" for repeats, in page order), each with its heading's text.
 * Headings inside fenced code blocks do not count.
 */
export function headingAnchors(text: string): Map<string, string> {
  const anchors = new Map<string, string>();
  const repeats = new Map<string, number>();
  let code = false;
  for (const line of text.split('\n')) {
    if (line.startsWith('```')) code = !code;
    if (code) continue;
    const h = /^#{1,6} (.*)$/.exec(line);
    if (h === null) continue;
    const base = h[1].toLowerCase().replace(/[^\p{L}\p{M}\p{N}\p{Pc} -]/gu, '').replace(/ /g, '-');
    const n = repeats.get(base) ?? 0;
    repeats.set(base, n + 1);
    anchors.set(n === 0 ? base : `${base}-${n}`, h[1]);
  }
  return anchors;
}

/** The targets of a page's Markdown links, outside code blocks and code spans. */
export function linkTargets(text: string): string[] {
  const prose = text.replace(/^```[\s\S]*?^```$/gm, '').replace(/`[^`\n]*`/g, '');
  return [...prose.matchAll(/\]\(([^)\s]+)\)/g)].map((m) => m[1]);
}
