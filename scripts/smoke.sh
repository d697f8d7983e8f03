#!/usr/bin/env bash
# Post-deploy smoke test: one claim through the whole human-decision path, over the public API.
#
#   SMOKE_ACCESS_TOKEN=<token> scripts/smoke.sh <app-url>
#
# Starts a 9000 EUR claim (above the auto-approval limit, so it waits for an adjuster) on a fresh
# policy number, waits for stage "awaiting_decision", approves it as smoke@example.com, waits for
# runtimeStatus "Completed" with outcome "approved" and a payout, and prints a one-line summary.
# Works against Azure (https://<app>.azurewebsites.net) and devhost (http://127.0.0.1:7071).
# Needs bash (3.2 is enough), curl, and python3 for reading JSON.
#
# Exit codes: 0 passed, 1 the app misbehaved (unexpected HTTP code, a body that is not JSON, a
# failed/terminated instance, a wrong outcome, a timeout), 2 wrong arguments or settings.
# The access token travels only in the Authorization header (through a private curl config
# file, never on a command line) and is never printed. No function key: the app's routes take
# none; people and systems sign in.
set -euo pipefail

readonly PROG=${0##*/}
readonly AMOUNT=9000
readonly CURRENCY=EUR
readonly ACTOR=smoke@example.com
readonly DECISION_STAGE=awaiting_decision
readonly DECISION_EVENT=ClaimDecision

usage() {
    cat <<EOF
usage: $PROG <app-url>

  app-url        https://<app>.azurewebsites.net or http://127.0.0.1:7071 (no /api suffix)

environment:
  SMOKE_TIMEOUT_SECONDS  how long each wait may take, in whole seconds (default 120)
  SMOKE_POLL_SECONDS     pause between status polls, in seconds (default 2)
  SMOKE_ACCESS_TOKEN     an Entra ID token for the app registration (Azure, where App Service
                         Authentication is on): sent as a bearer token, and the claim is then
                         decided by whoever the token names, who needs the Claims.Supervisor
                         role; without it the decision names $ACTOR in the actor field, which
                         only an app with ACCEPT_ACTOR_FIELD=true (local use) accepts
EOF
}

# Wrong arguments: the message and the usage on stderr, exit 2.
usage_error() {
    printf '%s: %s\n' "$PROG" "$1" >&2
    usage >&2
    exit 2
}

# The smoke test failed: a clear message on stderr, exit 1.
fail() {
    printf '%s: FAILED: %s\n' "$PROG" "$1" >&2
    exit 1
}

step() {
    printf '==> %s\n' "$1"
}

note() {
    printf '    %s\n' "$1"
}

# -- arguments and settings ------------------------------------------------------------------

if [[ $# -eq 1 && ($1 == -h || $1 == --help) ]]; then
    usage
    exit 0
fi
[[ $# -eq 1 ]] || usage_error "expected 1 argument, got $#"
base_url=$1
while [[ $base_url == */ ]]; do
    base_url=${base_url%/}
done
[[ $base_url =~ ^https?://[^/[:space:]]+(/[^[:space:]]*)?$ ]] \
    || usage_error "app-url must start with http:// or https://, got '$1'"

timeout_seconds=${SMOKE_TIMEOUT_SECONDS:-120}
poll_seconds=${SMOKE_POLL_SECONDS:-2}
[[ $timeout_seconds =~ ^[0-9]+$ ]] \
    || usage_error "SMOKE_TIMEOUT_SECONDS must be whole seconds, got '$timeout_seconds'"
[[ $poll_seconds =~ ^[0-9]*\.?[0-9]+$ && $poll_seconds =~ [1-9] ]] \
    || usage_error "SMOKE_POLL_SECONDS must be a number above 0, got '$poll_seconds'"

command -v curl >/dev/null 2>&1 || usage_error "curl is required"
command -v python3 >/dev/null 2>&1 || usage_error "python3 is required to read JSON"

# -- scratch files: response bodies, curl errors, the curl config holding the token -----------

umask 077
work_dir=$(mktemp -d "${TMPDIR:-/tmp}/smoke.XXXXXX")
trap 'rm -rf "$work_dir"' EXIT
readonly body_file=$work_dir/body curl_errors=$work_dir/curl-errors curl_config=$work_dir/curl.conf
access_token=${SMOKE_ACCESS_TOKEN:-}
: >"$curl_config"
[[ -z $access_token || $access_token =~ ^[[:graph:]]+$ ]] \
    || usage_error "SMOKE_ACCESS_TOKEN must not contain spaces"
[[ -z $access_token ]] || printf 'header = "Authorization: Bearer %s"\n' "$access_token" >>"$curl_config"
unset access_token SMOKE_ACCESS_TOKEN

# -- JSON -------------------------------------------------------------------------------------

# Fields are dotted paths ("output.outcome"). A string prints as is (newlines as spaces), null or
# a missing field as an empty line, anything else as compact JSON. Exit 3: not a JSON object.
readonly PY_FIELD='
import json, sys
try:
    with open(sys.argv[1], encoding="utf-8") as source:
        value = json.load(source)
except (OSError, ValueError):
    sys.exit(3)
if not isinstance(value, dict):
    sys.exit(3)
for key in sys.argv[2].split(".") if len(sys.argv) > 2 else []:
    value = value.get(key) if isinstance(value, dict) else None
if value is None:
    print("")
elif isinstance(value, str):
    print(value.replace("\r", " ").replace("\n", " "))
else:
    print(json.dumps(value, separators=(",", ":")))
'
# json_field FILE [PATH]: print the field; with no PATH only check that FILE is a JSON object.
json_field() {
    python3 -c "$PY_FIELD" "$@"
}

# field PATH: a field of the last response body (already checked to be a JSON object).
field() {
    json_field "$body_file" "$1"
}

# clip TEXT: at most 500 characters of TEXT, for error messages.
clip() {
    if ((${#1} > 500)); then
        printf '%s...' "${1:0:500}"
    else
        printf '%s' "$1"
    fi
}

# What the last body says, for error messages: a problem's detail, else its start.
body_excerpt() {
    local detail=""
    if json_field "$body_file" >/dev/null 2>&1; then
        detail=$(field detail)
        [[ -n $detail ]] || detail=$(field title)
        [[ -n $detail ]] || detail=$(field Message)
    fi
    if [[ -z $detail && -s $body_file ]]; then
        detail=$(head -c 300 "$body_file" | tr -s '\r\n\t' '   ')
    fi
    clip "${detail:-(empty body)}"
}

# -- HTTP -------------------------------------------------------------------------------------

http_code=""

# request METHOD PATH EXPECTED [BODY]: sends the request with the token and checks that the code
# is EXPECTED and the body a JSON object. The body is left in $body_file.
request() {
    local method=$1 url=$base_url$2 expected=$3 data=${4-} hint=""
    # GETs are safe to repeat: curl retries them on timeouts and 408/429/500/502/503/504.
    local retry=0
    if [[ $method == GET ]]; then
        retry=2
    fi
    set -- --silent --show-error --connect-timeout 10 --max-time 30 --retry "$retry" \
        --config "$curl_config" --request "$method" --header 'accept: application/json' \
        --output "$body_file" --write-out '%{http_code}'
    if [[ -n $data ]]; then
        set -- "$@" --header 'content-type: application/json' --data-binary "$data"
    fi
    : >"$body_file"
    if ! http_code=$(curl "$@" "$url" 2>"$curl_errors"); then
        fail "$method $url: cannot reach the app ($(tr -s '\r\n' '  ' <"$curl_errors"))"
    fi
    if [[ $http_code != "$expected" ]]; then
        case $http_code in
            401 | 403) hint=" - sign-in was refused; set SMOKE_ACCESS_TOKEN to a token for the app registration held by someone with Claims.Supervisor" ;;
            404) hint=" - check the app URL (give it without /api)" ;;
            409) hint=" - the claim is not in the state this step expects" ;;
        esac
        fail "$method $url answered HTTP $http_code, expected $expected$hint: $(body_excerpt)"
    fi
    if ! json_field "$body_file" >/dev/null 2>&1; then
        fail "$method $url answered HTTP $http_code with a body that is not a JSON object: $(body_excerpt)"
    fi
}

# -- polling ----------------------------------------------------------------------------------

runtime_status=""
stage=""

# poll_claim CHECK WHAT: GET the claim until the function CHECK returns 0. CHECK returns 1 to go
# on polling and calls fail itself when the claim can no longer get there.
poll_claim() {
    local check=$1 what=$2 started=$SECONDS seen="" now
    while :; do
        request GET "$status_path" 200
        runtime_status=$(field runtimeStatus)
        stage=$(field stage)
        now="runtimeStatus=${runtime_status:-?} stage=${stage:-none}"
        if [[ $now != "$seen" ]]; then
            note "$now (after $((SECONDS - started)) s)"
            seen=$now
        fi
        case $runtime_status in
            Failed | Terminated | Canceled)
                fail "claim $claim_id is $runtime_status at stage '${stage:-none}' while waiting for $what; output: $(clip "$(field output)")"
                ;;
        esac
        if "$check"; then
            return 0
        fi
        # SECONDS ticks on whole seconds: "more than" makes sure the full timeout has passed.
        if ((timeout_seconds == 0 || SECONDS - started > timeout_seconds)); then
            fail "timed out after ${timeout_seconds} s waiting for $what on claim $claim_id; last seen $now (SMOKE_TIMEOUT_SECONDS sets the limit)"
        fi
        sleep "$poll_seconds"
    done
}

waiting_for_decision() {
    if [[ $runtime_status == Completed ]]; then
        fail "claim $claim_id completed without waiting for a decision (stage '$stage', output $(clip "$(field output)")); is AUTO_APPROVAL_LIMIT at or above $AMOUNT?"
    fi
    [[ $runtime_status == Running && $stage == "$DECISION_STAGE" ]] || return 1
    [[ $(field waitingFor) == *"\"$DECISION_EVENT\""* ]] \
        || fail "claim $claim_id is at stage $DECISION_STAGE but waits for $(field waitingFor), not $DECISION_EVENT"
}

completed() {
    [[ $runtime_status == Completed ]]
}

# -- the smoke test ---------------------------------------------------------------------------

suffix=$(date -u +%s)-$(printf '%04x%04x' "$RANDOM" "$RANDOM")
claim_id=SMOKE-$suffix
policy_number=POL-SMOKE-$suffix
status_path=/api/claims/$claim_id
loss_date=$(date -u +%Y-%m-%d)
total_started=$SECONDS

step "[1/4] start claim claimId=$claim_id (policy $policy_number, $AMOUNT $CURRENCY) at $base_url"
request POST /api/claims 202 "$(
    cat <<EOF
{"claimId": "$claim_id", "policyNumber": "$policy_number",
 "claimant": {"name": "Smoke Test", "email": "$ACTOR"},
 "lossDate": "$loss_date", "amount": $AMOUNT, "currency": "$CURRENCY",
 "description": "Post-deploy smoke test",
 "documents": [{"documentId": "SMOKE-INVOICE", "kind": "invoice", "url": "https://files.example/smoke-invoice.pdf"},
               {"documentId": "SMOKE-PHOTO", "kind": "photo", "url": "https://files.example/smoke-photo.jpg"}]}
EOF
)"
instance_id=$(field instanceId)
status_url=$(field statusUrl)
[[ $instance_id == "claim-$claim_id" ]] \
    || fail "the start answered instance id '$instance_id', expected 'claim-$claim_id'"
[[ $status_url == *"$status_path" ]] \
    || fail "the start answered statusUrl '$status_url', expected one ending in $status_path"
note "HTTP 202: instance $instance_id, status $status_url"

step "[2/4] wait for stage $DECISION_STAGE (timeout ${timeout_seconds} s, poll every ${poll_seconds} s)"
poll_claim waiting_for_decision "stage $DECISION_STAGE"

if grep -q '^header = "Authorization' "$curl_config"; then
    signer="the signed-in principal"
    decision='{"decision": "approve", "comment": "smoke test"}'
else
    signer=$ACTOR
    decision="{\"decision\": \"approve\", \"comment\": \"smoke test\", \"actor\": \"$ACTOR\"}"
fi
step "[3/4] approve claim $claim_id as $signer"
request POST "$status_path/decision" 202 "$decision"
[[ $(field event) == "$DECISION_EVENT" && $(field id) == "$instance_id" ]] \
    || fail "the decision answered event '$(field event)' for '$(field id)', expected $DECISION_EVENT for $instance_id"
note "HTTP 202: $DECISION_EVENT delivered to $instance_id"

step "[4/4] wait for the claim to complete (timeout ${timeout_seconds} s)"
poll_claim completed "runtimeStatus Completed"
outcome=$(field output.outcome)
paid=$(field output.amountPaid)
payout_id=$(field output.payoutId)
decided_by=$(field output.decidedBy.name)
[[ $stage == approved && $outcome == approved ]] \
    || fail "claim $claim_id completed with stage '$stage' and outcome '$outcome', expected approved; output: $(clip "$(field output)")"
[[ $paid =~ ^[0-9]+(\.[0-9]+)?$ && $paid =~ [1-9] && -n $payout_id ]] \
    || fail "claim $claim_id was approved but not paid: amountPaid '$paid', payoutId '$payout_id'"
[[ -n $decided_by && ($signer != "$ACTOR" || $decided_by == "$ACTOR") ]] \
    || fail "claim $claim_id was decided by '$decided_by', not by $signer"

printf 'smoke test passed: claim %s approved by %s, paid %s %s (payout %s) in %d s\n' \
    "$claim_id" "$decided_by" "$paid" "$CURRENCY" "$payout_id" "$((SECONDS - total_started))"
