// Audit trails in the Log Analytics workspace: who read or changed the vault's secrets, and who
// wrote or deleted in the storage account (the task hub and the deployment package).

param workspaceId string
param storageAccountName string
param keyVaultName string

// Reads of queues and tables are the task hub polling; only changes are kept for them, which
// keeps the workspace's ingestion near the volume of real work.
var storageChanges = [
  'StorageWrite'
  'StorageDelete'
]
// Blob reads stay in: the deployment package and large task payloads are read there.
var blobCategories = [
  'StorageRead'
  'StorageWrite'
  'StorageDelete'
]

resource storage 'Microsoft.Storage/storageAccounts@2026-04-01' existing = {
  name: storageAccountName
}

resource blobService 'Microsoft.Storage/storageAccounts/blobServices@2026-04-01' existing = {
  parent: storage
  name: 'default'
}

resource queueService 'Microsoft.Storage/storageAccounts/queueServices@2026-04-01' existing = {
  parent: storage
  name: 'default'
}

resource tableService 'Microsoft.Storage/storageAccounts/tableServices@2026-04-01' existing = {
  parent: storage
  name: 'default'
}

resource vault 'Microsoft.KeyVault/vaults@2026-02-01' existing = {
  name: keyVaultName
}

// Named diagnostic settings exist in previews only: the GA versions (2015-07-01, 2016-09-01)
// are the legacy single setting called 'service' (tests/infra/test_api_versions.py).
// AuditEvent lands in the AzureDiagnostics table, where alerts.bicep looks for refusals.
resource vaultAudit 'Microsoft.Insights/diagnosticSettings@2021-05-01-preview' = {
  name: 'audit-to-log-analytics'
  scope: vault
  properties: {
    workspaceId: workspaceId
    logs: [
      {
        category: 'AuditEvent'
        enabled: true
      }
    ]
  }
}

resource blobAudit 'Microsoft.Insights/diagnosticSettings@2021-05-01-preview' = {
  name: 'audit-to-log-analytics'
  scope: blobService
  properties: {
    workspaceId: workspaceId
    logs: [
      for category in blobCategories: {
        category: category
        enabled: true
      }
    ]
  }
}

resource queueAudit 'Microsoft.Insights/diagnosticSettings@2021-05-01-preview' = {
  name: 'audit-to-log-analytics'
  scope: queueService
  properties: {
    workspaceId: workspaceId
    logs: [
      for category in storageChanges: {
        category: category
        enabled: true
      }
    ]
  }
}

resource tableAudit 'Microsoft.Insights/diagnosticSettings@2021-05-01-preview' = {
  name: 'audit-to-log-analytics'
  scope: tableService
  properties: {
    workspaceId: workspaceId
    logs: [
      for category in storageChanges: {
        category: category
        enabled: true
      }
    ]
  }
}
