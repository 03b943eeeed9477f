// Types of bench/results.mjs, for the tests that import it (test/bench-charts.test.ts). The
// JSON itself is left untyped here: each bench's header comment says what it holds.

export const root: string;
export const resultsDir: string;
export function shellQuote(arg: string): string;
export function commandLine(argv?: string[], execArgv?: string[]): string;
export function machineLine(report: any): string;
export function runInfo(benchmark: string): Record<string, any>;
export function endInfo(report: any): void;
export function peersCharts(report: any): Record<string, string>;
export function restartsCharts(report: any): Record<string, string>;
export function statusCharts(report: any): Record<string, string>;
/** Every chart of a bench's JSON (report.benchmark: peers, restarts or status), by file name. */
export function chartsFor(report: any): Record<string, string>;
export function writeCharts(report: any, dir: string): string[];
export function writeJson(report: any, file: string): void;
export function outputOf(values: Record<string, unknown>, name: string): { out: string; jsonFile: string };
