// Alerts on what needs a person: an orchestration that failed (a workflow stopped short of its
// end), and Key Vault refusing a caller (a lost role or a firewall rule keeping the app from
// its partners' keys, or someone probing the vault). Both are log queries over the workspace
// that Application Insights and the vault's audit log write to.

param namePrefix string
param location string
param tags object = {}
param workspaceId string

@description('Email address told when an alert fires; empty leaves the alerts in the Azure portal only.')
param emailAddress string = ''

// The Durable extension's tracking event for every orchestration that ends Failed
// (Host.Triggers.DurableTask traces, logged at Information by host.json).
var failedOrchestrationsQuery = '''
AppTraces
| where tostring(Properties.Category) == "Host.Triggers.DurableTask"
| where tostring(Properties.prop__functionType) == "Orchestrator"
| where tostring(Properties.prop__state) == "Failed"
| project TimeGenerated, instanceId = tostring(Properties.prop__instanceId), functionName = tostring(Properties.prop__functionName), reason = tostring(Properties.prop__reason)
'''

// 403 only: every Key Vault client first sends an unauthenticated request and gets a 401
// challenge, so 401s are normal. A 403 is a caller the vault's RBAC or firewall refused.
var keyVaultRefusalsQuery = '''
AzureDiagnostics
| where ResourceProvider == "MICROSOFT.KEYVAULT" and Category == "AuditEvent"
| where httpStatusCode_d == 403
| project TimeGenerated, OperationName, CallerIPAddress, identity_claim_oid_g, ResultSignature
'''

resource actionGroup 'Microsoft.Insights/actionGroups@2023-01-01' = if (!empty(emailAddress)) {
  name: 'ag-${namePrefix}'
  location: 'global'
  tags: tags
  properties: {
    groupShortName: take(replace(namePrefix, '-', ''), 12)
    enabled: true
    emailReceivers: [
      {
        name: 'operations'
        emailAddress: emailAddress
        useCommonAlertSchema: true
      }
    ]
  }
}

var alerts = [
  {
    name: 'failed-orchestrations'
    displayName: 'Workflows: an orchestration failed'
    description: 'An orchestration ended Failed in the last 15 minutes; the results name the instance and the reason.'
    severity: 1
    query: failedOrchestrationsQuery
  }
  {
    name: 'key-vault-refusals'
    displayName: 'Workflows: Key Vault refused a caller'
    description: 'Key Vault answered 403 in the last 15 minutes: the app lost a role or is kept out by the firewall, or someone without access tried.'
    severity: 2
    query: keyVaultRefusalsQuery
  }
]

resource rules 'Microsoft.Insights/scheduledQueryRules@2026-03-01' = [
  for alert in alerts: {
    name: '${namePrefix}-${alert.name}'
    location: location
    tags: tags
    kind: 'LogAlert'
    properties: {
      displayName: alert.displayName
      description: alert.description
      severity: alert.severity
      enabled: true
      scopes: [
        workspaceId
      ]
      evaluationFrequency: 'PT5M'
      windowSize: 'PT15M'
      criteria: {
        allOf: [
          {
            query: alert.query
            timeAggregation: 'Count'
            operator: 'GreaterThan'
            threshold: 0
            failingPeriods: {
              numberOfEvaluationPeriods: 1
              minFailingPeriodsToAlert: 1
            }
          }
        ]
      }
      autoMitigate: true
      actions: {
        actionGroups: empty(emailAddress) ? [] : [
          actionGroup!.id
        ]
      }
    }
  }
]
