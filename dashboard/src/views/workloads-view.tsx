/** Deployments with their rollout drawn live, and the buttons kubectl's rollout verbs have. */
import { useRef, useState } from "preact/hooks";
import type { ApiClient } from "../api";
import { pauseWrite, restartWrite, scaleWrite, undoWrite } from "../deployment-actions";
import type { Deployment, ReplicaSet } from "../kube-types";
import {
  addSample,
  chartSeries,
  ownedReplicaSets,
  revisionOf,
  rolloutBounds,
  rolloutPhase,
  type Sample,
} from "../rollout";
import { useResource } from "../use-resource";
import { type Confirmer, useConfirmedWrite } from "./confirm";

const W = 360;
const H = 90;

function Timeline({
  deploy,
  owned,
  samples,
}: {
  deploy: Deployment;
  owned: ReplicaSet[];
  samples: readonly Sample[];
}) {
  const bounds = rolloutBounds(deploy);
  const yMax = Math.max(bounds.maxTotal, ...owned.map((r) => r.status?.readyReplicas ?? 0), 1);
  const names = owned.map((r) => r.metadata.name);
  const series = chartSeries(samples, names, Date.now(), W, H, yMax);
  const y = (v: number) => H - (v / yMax) * H;
  return (
    <figure class="timeline">
      <svg
        viewBox={`0 0 ${W} ${H}`}
        width={W}
        height={H}
        role="img"
        aria-label={`ready pods per ReplicaSet over time; at most ${bounds.maxTotal}, at least ${bounds.minAvailable} available`}
      >
        <line class="bound" x1={0} x2={W} y1={y(bounds.maxTotal)} y2={y(bounds.maxTotal)} />
        <text class="bound-label" x={W - 4} y={y(bounds.maxTotal) + 10} text-anchor="end">
          max {bounds.maxTotal}
        </text>
        <line class="bound" x1={0} x2={W} y1={y(bounds.minAvailable)} y2={y(bounds.minAvailable)} />
        <text class="bound-label" x={4} y={y(bounds.minAvailable) - 3}>
          min {bounds.minAvailable}
        </text>
        {series.map((s, i) => (
          <polyline key={s.name} class={i === 0 ? "series new" : "series old"} points={s.points} />
        ))}
      </svg>
      <figcaption>
        Ready pods since this page opened; dashed: surge bound {bounds.maxTotal}, availability bound{" "}
        {bounds.minAvailable}. <span class="key new">new</span> <span class="key old">old</span>
      </figcaption>
    </figure>
  );
}

function DeploymentCard({
  deploy,
  owned,
  samples,
  confirmer,
}: {
  deploy: Deployment;
  owned: ReplicaSet[];
  samples: readonly Sample[];
  confirmer: Confirmer;
}) {
  const [replicas, setReplicas] = useState(String(deploy.spec.replicas ?? 1));
  const [inputError, setInputError] = useState<string | undefined>();
  const phase = rolloutPhase(deploy);
  const s = deploy.status ?? {};
  const id = `${deploy.metadata.namespace}-${deploy.metadata.name}`;
  const undo = undoWrite(deploy, owned);
  const scale = () => {
    try {
      setInputError(undefined);
      confirmer.ask(scaleWrite(deploy, Number(replicas === "" ? Number.NaN : replicas)));
    } catch (err) {
      setInputError(err instanceof Error ? err.message : String(err));
    }
  };
  return (
    <section class="card" aria-labelledby={`${id}-title`} data-deployment={deploy.metadata.name}>
      <header>
        <h2 id={`${id}-title`}>
          {deploy.metadata.namespace}/{deploy.metadata.name}
        </h2>
        <span class={`badge ${phase}`} data-phase={phase}>
          {phase}
        </span>
        <span>revision {Math.max(0, ...owned.map(revisionOf))}</span>
      </header>
      <p class="counts">
        {s.readyReplicas ?? 0}/{deploy.spec.replicas ?? 1} ready · {s.updatedReplicas ?? 0} updated ·{" "}
        {s.availableReplicas ?? 0} available
      </p>
      <Timeline deploy={deploy} owned={owned} samples={samples} />
      <table>
        <caption>ReplicaSets</caption>
        <thead>
          <tr>
            <th scope="col">Revision</th>
            <th scope="col">Name</th>
            <th scope="col">Ready / desired</th>
          </tr>
        </thead>
        <tbody>
          {owned.map((rs) => (
            <tr key={rs.metadata.name}>
              <td>{revisionOf(rs)}</td>
              <td>{rs.metadata.name}</td>
              <td>
                {rs.status?.readyReplicas ?? 0} / {rs.spec.replicas ?? 0}
              </td>
            </tr>
          ))}
        </tbody>
      </table>
      <div class="actions">
        <label>
          Replicas{" "}
          <input
            type="number"
            min={0}
            value={replicas}
            onInput={(e) => setReplicas((e.target as HTMLInputElement).value)}
            aria-invalid={inputError ? "true" : "false"}
          />
        </label>
        <button type="button" onClick={scale}>
          Scale
        </button>
        <button type="button" onClick={() => confirmer.ask(pauseWrite(deploy, !deploy.spec.paused))}>
          {deploy.spec.paused ? "Resume" : "Pause"}
        </button>
        <button type="button" onClick={() => confirmer.ask(restartWrite(deploy, new Date()))}>
          Restart
        </button>
        <button type="button" disabled={!undo} onClick={() => undo && confirmer.ask(undo)}>
          Undo
        </button>
      </div>
      {inputError && <p role="alert">{inputError}</p>}
    </section>
  );
}

export function WorkloadsView({ api }: { api: ApiClient }) {
  const deployments = useResource<Deployment>(api, "/apis/apps/v1/deployments");
  const replicaSets = useResource<ReplicaSet>(api, "/apis/apps/v1/replicasets");
  const confirmer = useConfirmedWrite(api);
  // Samples live as long as the view: the chart shows what happened while it was watched.
  const samples = useRef(new Map<string, readonly Sample[]>());
  const sorted = [...deployments.items].sort((a, b) =>
    `${a.metadata.namespace}/${a.metadata.name}`.localeCompare(`${b.metadata.namespace}/${b.metadata.name}`),
  );
  return (
    <main aria-labelledby="workloads-title">
      <h1 id="workloads-title">Workloads</h1>
      {confirmer.outcome}
      {(deployments.error || replicaSets.error) && (
        <p role="alert">{deployments.error ?? replicaSets.error}</p>
      )}
      {deployments.synced && sorted.length === 0 && <p>No Deployments.</p>}
      <div class="cards">
        {sorted.map((d) => {
          const owned = ownedReplicaSets(d, replicaSets.items);
          const uid = d.metadata.uid ?? d.metadata.name;
          const next = replicaSets.synced ? addSample(samples.current.get(uid) ?? [], Date.now(), owned) : [];
          samples.current.set(uid, next);
          return <DeploymentCard key={uid} deploy={d} owned={owned} samples={next} confirmer={confirmer} />;
        })}
      </div>
      {confirmer.dialog}
    </main>
  );
}
