#!/usr/bin/env bash
# The main job, on a fresh Debian machine as root: install everything, bring up a 3-host lab
# (hosts are network namespaces with no route out), apply the example app and show it answering
# through its Service from every host. Run again at any time; an existing lab is reused.
set -euo pipefail
cd "$(dirname "$0")/.."

kctl/install.sh

lab=${KCTL_LAB:-demo}
if ! kctl lab status -o json | node -e 'let s="";process.stdin.on("data",d=>s+=d).on("end",()=>process.exit(JSON.parse(s).some(l=>l.state.name===process.argv[1])?0:1))' "$lab"; then
  kctl lab up --name "$lab" --nodes 3
fi
export KCTL_CONFIG=/var/lib/kctl/labs/$lab/state/controlplane/admin.kubeconfig

kctl apply -f manifests/
kctl rollout status deployment/web -n demo --timeout 180s
kctl get pods -n demo -o wide

ip=$(kctl get service web -n demo -o jsonpath='{.spec.clusterIP}')
echo
echo "Service web is at $ip; asking it from every host (each answer is the pod that served it):"
for node in node1 node2 node3; do
  for _ in 1 2 3; do
    printf '%s -> ' "$node"
    kctl lab exec --name "$lab" "$node" -- timeout 3 busybox wget -q -O- "http://$ip/"
  done
done
echo
echo "kctl is configured for this lab with: export KCTL_CONFIG=$KCTL_CONFIG"
echo "Remove the lab with: kctl lab down --name $lab"
