/**
 * Splits a stream of text chunks into lines (watch events are one JSON object per line, and a
 * chunk may end in the middle of one): returns a function to feed chunks to; `onLine` gets each
 * complete, non-empty line without its newline.
 */
export function lineSplitter(onLine: (line: string) => void): (chunk: string) => void {
  let partial = "";
  return (chunk) => {
    const lines = (partial + chunk).split("\n");
    partial = lines.pop() ?? "";
    for (const line of lines) if (line.trim() !== "") onLine(line);
  };
}
