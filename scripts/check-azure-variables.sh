#!/usr/bin/env bash
# Fails, naming each one, when a variable the deploy workflow needs is not set for the GitHub
# environment the job runs in (docs/deploy.md, "Deploy from GitHub", step 3).
set -euo pipefail

missing=0
for name in AZURE_CLIENT_ID AZURE_TENANT_ID AZURE_SUBSCRIPTION_ID AZURE_RESOURCE_GROUP AUTH_CLIENT_ID; do
    if [ -z "${!name:-}" ]; then
        echo "::error::variable $name is not set for this GitHub environment"
        missing=1
    fi
done
exit "$missing"
