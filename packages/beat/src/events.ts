/** Events of a beat: `beat.on("sent", ({ entry, taskId }) => …)`. */
export interface BeatEvents {
  /** A due entry's task was accepted by the broker. */
  sent: {
    /** Entry name. */
    entry: string;
    /** Task name. */
    task: string;
    /** Id of the message sent. */
    taskId: string;
    /** When the run was due (a catch-up run after downtime was due earlier than it was sent). */
    dueAt: Date;
  };
  /** This beat took the lease and sends from now on. */
  leader: { entries: number };
  /** This beat lost or gave up the lease. */
  follower: { reason: string };
  /** Sending an entry, or scheduling, failed (beat logs it too and carries on). */
  error: { error: unknown; entry: string | null };
}
