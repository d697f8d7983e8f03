// Partner API keys live here; the app reads them through its identity (RBAC, no access policies).

@description('Globally unique, 3-24 letters, digits and dashes.')
@minLength(3)
@maxLength(24)
param name string

param location string
param tags object = {}

@description('Days a deleted secret stays recoverable.')
@minValue(7)
@maxValue(90)
param softDeleteRetentionInDays int = 90

@description('Enabled lets public networks reach the service (Entra ID still required); Disabled leaves private endpoints only.')
@allowed([
  'Enabled'
  'Disabled'
])
param publicNetworkAccess string = 'Disabled'

@description('Traffic from public networks that no rule lets in: Deny, or Allow (development without a VNet).')
@allowed([
  'Allow'
  'Deny'
])
param networkDefaultAction string = 'Deny'

@description('Public IPv4 ranges (CIDR) let in while networkDefaultAction is Deny: operators who set secrets.')
param operatorIpRanges array = []

resource vault 'Microsoft.KeyVault/vaults@2026-02-01' = {
  name: name
  location: location
  tags: tags
  properties: {
    tenantId: subscription().tenantId
    sku: {
      family: 'A'
      name: 'standard'
    }
    enableRbacAuthorization: true
    enableSoftDelete: true
    softDeleteRetentionInDays: softDeleteRetentionInDays
    enablePurgeProtection: true
    enabledForDeployment: false
    enabledForDiskEncryption: false
    enabledForTemplateDeployment: false
    publicNetworkAccess: publicNetworkAccess
    networkAcls: {
      bypass: 'AzureServices'
      defaultAction: networkDefaultAction
      ipRules: [
        for range in operatorIpRanges: {
          value: range
        }
      ]
    }
  }
}

output name string = vault.name
output id string = vault.id
output uri string = vault.properties.vaultUri
