// Types of readme-session.mjs, for the tests that import it.
export interface Session {
  chapter: string;
  section: string;
  files: { name: string; code: string }[];
  steps: { command: string; output: string[] }[];
}
export interface SessionPlace {
  cwd: string;
  env: NodeJS.ProcessEnv;
  port: number;
  tmp: string;
  logDir?: string;
  timeoutMs?: number;
}
export function sessionsOf(markdown: string): Session[];
export function runSession(session: Session, where: SessionPlace): { steps: { command: string; printed: string; expected: string }[]; pids: number[] };
