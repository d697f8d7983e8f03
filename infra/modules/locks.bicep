// Delete locks on what cannot be recreated: the storage account holds every running workflow
// (the task hub), the vault the partners' keys. A lock must be removed on purpose before
// either can be deleted, by a person allowed Microsoft.Authorization/locks/delete.

param storageAccountName string
param keyVaultName string

resource storage 'Microsoft.Storage/storageAccounts@2026-04-01' existing = {
  name: storageAccountName
}

resource vault 'Microsoft.KeyVault/vaults@2026-02-01' existing = {
  name: keyVaultName
}

resource storageLock 'Microsoft.Authorization/locks@2020-05-01' = {
  name: 'do-not-delete'
  scope: storage
  properties: {
    level: 'CanNotDelete'
    notes: 'Holds the Durable task hub: every running workflow. Remove this lock only to retire the environment.'
  }
}

resource vaultLock 'Microsoft.Authorization/locks@2020-05-01' = {
  name: 'do-not-delete'
  scope: vault
  properties: {
    level: 'CanNotDelete'
    notes: 'Holds the partner API keys. Remove this lock only to retire the environment.'
  }
}
