/** A runbook whose only tier waits for a person: the fixture for approve and cancel through the API and the pages. */

export const GATED_RUNBOOK = `name: gated
faultClass: hung
description: waits for a person
match:
  - alertname = "Gated"
params:
  host: { from: labels.instance, pattern: '[a-z0-9-]{1,64}' }
target: "{{ params.host }}"
tiers:
  - name: costly
    approval: required
    approvalTimeout: 5m
    steps:
      - name: fix
        run: ["true"]
`;
