/**
 * Every write from the dashboard asks first, in a modal dialog (keyboard: Tab between the buttons,
 * Escape cancels), and shows what the server answered: success, or its refusal verbatim.
 */
import { useRef, useState } from "preact/hooks";
import type { ApiClient } from "../api";
import type { Write } from "../deployment-actions";

export interface Confirmer {
  /** Asks `write.question`; on yes, sends the write and reports the outcome. */
  ask(write: Write): void;
  dialog: preact.JSX.Element;
  /** The last outcome, for a role="status"/"alert" region. */
  outcome: preact.JSX.Element | null;
}

export function useConfirmedWrite(api: ApiClient): Confirmer {
  const ref = useRef<HTMLDialogElement>(null);
  const [pending, setPending] = useState<Write | undefined>();
  const [result, setResult] = useState<{ ok: boolean; text: string } | undefined>();
  const ask = (write: Write) => {
    setPending(write);
    setResult(undefined);
    ref.current?.showModal();
  };
  const confirm = async () => {
    const write = pending;
    ref.current?.close();
    if (!write) return;
    try {
      await api.send(write.method, write.path, write.body, write.contentType);
      setResult({ ok: true, text: `Done: ${write.question.replace(/\?$/, "")}` });
    } catch (err) {
      setResult({ ok: false, text: err instanceof Error ? err.message : String(err) });
    }
  };
  const dialog = (
    <dialog ref={ref} aria-labelledby="confirm-question" class="confirm">
      <p id="confirm-question">{pending?.question}</p>
      <div class="buttons">
        <button type="button" onClick={() => ref.current?.close()}>
          Cancel
        </button>
        <button type="button" class="primary" onClick={() => void confirm()}>
          Confirm
        </button>
      </div>
    </dialog>
  );
  const outcome = result ? (
    <p role={result.ok ? "status" : "alert"} class={result.ok ? "outcome ok" : "outcome refused"}>
      {result.text}
    </p>
  ) : null;
  return { ask, dialog, outcome };
}
