#!/usr/bin/env bash
# Replays the orchestration instances in flight in a deployed Function App against the
# orchestrators of this checkout (python -m devhost replay-check --from, docs/releases.md), and
# lists them per orchestrator in the job summary. Exits 1 when any diverges, 2 when the app
# cannot be read: either way the deploy stops.
#
#   bash scripts/replay-in-flight.sh https://<app host>
#
# Environment: APP (the Function App's name; empty before the first deployment: nothing is in
# flight), AZURE_RESOURCE_GROUP, ACCESS_TOKEN (for App Service Authentication, asked for right
# after the login), RUNNING_VERSION (the orchestration version the app stamped before this run,
# its workflow-version tag), NEW_CODE_RUNS (true once this commit is deployed there: its
# host.json defaultVersion may be in flight too), RETRY_FOR (seconds to wait for an app that
# is restarting). The Durable HTTP API's system key is read here, masked at once, and handed to
# the check through its environment: never printed, never stored.
set -euo pipefail

url=${1:?usage: replay-in-flight.sh https://<app host>}
summary=${GITHUB_STEP_SUMMARY:-/dev/null}
if [ -z "${APP:-}" ]; then
    echo "No Function App in $AZURE_RESOURCE_GROUP yet: no instance is in flight." | tee -a "$summary"
    exit 0
fi

key=$(az functionapp keys list --resource-group "$AZURE_RESOURCE_GROUP" --name "$APP" \
    --query systemKeys.durabletask_extension --output tsv)
if [ -z "$key" ]; then
    echo "::error::$APP has no durabletask_extension system key"
    exit 2
fi
echo "::add-mask::$key"

# The versions instances in flight may carry (the Durable HTTP API does not say): what the app
# stamped until now, the older versions whose recordings are still kept (tests/histories/<version>/,
# docs/releases.md), and this commit's once it runs there.
versions=()
[ -n "${RUNNING_VERSION:-}" ] && versions+=("$RUNNING_VERSION")
for folder in tests/histories/*/; do
    name=$(basename "$folder")
    [[ $name =~ ^[0-9]+(\.[0-9]+)*$ ]] && versions+=("$name")
done
if [ "${NEW_CODE_RUNS:-false}" = true ]; then
    versions+=("$(jq -r '.extensions.durableTask.defaultVersion // empty' host.json)")
fi
options=()
while IFS= read -r version; do
    [ -n "$version" ] && options+=(--version "$version")
done < <(printf '%s\n' "${versions[@]}" | awk '!seen[$0]++')

shown=${options[*]:-}
echo "Replaying the instances in flight at $url (versions: ${shown//--version /})"
REPLAY_CHECK_KEY=$key REPLAY_CHECK_TOKEN=${ACCESS_TOKEN:-} python -m devhost replay-check \
    --app . --from "$url" "${options[@]}" --retry-for "${RETRY_FOR:-0}" --summary "$summary"
