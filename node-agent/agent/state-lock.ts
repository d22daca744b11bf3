/**
 * One agent per state dir: two would both adopt the same containers, hand out the same pod
 * addresses and fight over the node's rules. The agent holds `<stateDir>/agent.lock` while it runs.
 */
import { join } from "node:path";
import { PidLockBusyError, type Release, takePidLock } from "../../foundation/util/pid-lock.js";

export class AgentStateBusyError extends Error {
  constructor(
    readonly stateDir: string,
    readonly holder: string,
  ) {
    super(
      `another node agent (pid ${holder}) is running with state dir ${stateDir}; stop it first (its lock is ${join(stateDir, "agent.lock")})`,
    );
    this.name = "AgentStateBusyError";
  }
}

/** Takes the state dir for this process; throws AgentStateBusyError when a live agent holds it. */
export async function lockAgentState(stateDir: string): Promise<Release> {
  try {
    return await takePidLock(join(stateDir, "agent.lock"));
  } catch (err) {
    if (err instanceof PidLockBusyError) throw new AgentStateBusyError(stateDir, err.holder);
    throw err;
  }
}
