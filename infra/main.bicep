// The workflows app on Azure: a Flex Consumption Function App with its task-hub storage,
// Key Vault for partner secrets, and Application Insights. Deployed into an existing
// resource group with a .bicepparam file per environment.

targetScope = 'resourceGroup'

@description('Short name of the app; part of every resource name.')
@minLength(2)
@maxLength(12)
param appName string = 'workflows'

@description('Environment the resources belong to.')
@allowed([
  'dev'
  'prod'
])
param environmentName string

param location string = resourceGroup().location

@description('Durable task hub name (letters and digits); one per environment sharing a storage account.')
@minLength(3)
@maxLength(45)
param taskHubName string = 'workflows'

@description('Claims up to this amount are approved without a person.')
@minValue(0)
param autoApprovalLimit int = 2000

@description('Further non-secret settings the code reads, such as partner base URLs. Secrets go to Key Vault.')
param extraAppSettings object = {}

@description('Storage replication; zone redundancy of the plan needs ZRS or GZRS.')
@allowed([
  'Standard_LRS'
  'Standard_ZRS'
  'Standard_GZRS'
])
param storageSku string = 'Standard_GZRS'

@description('Zone-redundant Flex Consumption plan; needs zone-redundant storage (ZRS or GZRS).')
param zoneRedundant bool = true

@minValue(40)
@maxValue(1000)
param maximumInstanceCount int = 100

@allowed([
  512
  2048
  4096
])
param instanceMemoryMB int = 2048

@minValue(30)
@maxValue(730)
param logRetentionInDays int = 30

@description('Application Insights accepts only Entra ID authenticated telemetry.')
param appInsightsDisableLocalAuth bool = false

@description('Optional Entra ID object id that may manage Key Vault secrets (Key Vault Secrets Officer).')
param secretsOfficerPrincipalId string = ''

var token = toLower(uniqueString(resourceGroup().id, appName, environmentName))
var compactName = toLower(replace(appName, '-', ''))
var tags = {
  app: appName
  environment: environmentName
}
var names = {
  identity: 'id-${appName}-${environmentName}'
  logAnalytics: 'log-${appName}-${environmentName}'
  appInsights: 'appi-${appName}-${environmentName}'
  plan: 'plan-${appName}-${environmentName}'
  functionApp: 'func-${appName}-${environmentName}-${token}'
  storage: take('st${compactName}${token}', 24)
  keyVault: take('kv${compactName}${token}', 24)
  deploymentContainer: 'app-package'
}

module identity 'modules/identity.bicep' = {
  name: 'identity'
  params: {
    name: names.identity
    location: location
    tags: tags
  }
}

module monitoring 'modules/monitoring.bicep' = {
  name: 'monitoring'
  params: {
    logAnalyticsName: names.logAnalytics
    applicationInsightsName: names.appInsights
    location: location
    tags: tags
    retentionInDays: logRetentionInDays
    disableLocalAuth: appInsightsDisableLocalAuth
  }
}

module storage 'modules/storage.bicep' = {
  name: 'storage'
  params: {
    name: names.storage
    location: location
    tags: tags
    skuName: storageSku
    deploymentContainerName: names.deploymentContainer
  }
}

module keyVault 'modules/keyvault.bicep' = {
  name: 'keyVault'
  params: {
    name: names.keyVault
    location: location
    tags: tags
  }
}

module rbac 'modules/rbac.bicep' = {
  name: 'rbac'
  params: {
    principalId: identity.outputs.principalId
    storageAccountName: storage.outputs.name
    keyVaultName: keyVault.outputs.name
    applicationInsightsName: monitoring.outputs.applicationInsightsName
    secretsOfficerPrincipalId: secretsOfficerPrincipalId
  }
}

module functionApp 'modules/functionapp.bicep' = {
  name: 'functionApp'
  params: {
    name: names.functionApp
    planName: names.plan
    location: location
    tags: tags
    identityId: identity.outputs.id
    identityClientId: identity.outputs.clientId
    storageAccountName: storage.outputs.name
    storageBlobEndpoint: storage.outputs.blobEndpoint
    deploymentContainerName: storage.outputs.deploymentContainerName
    applicationInsightsConnectionString: monitoring.outputs.connectionString
    applicationInsightsEntraAuth: appInsightsDisableLocalAuth
    zoneRedundant: zoneRedundant
    maximumInstanceCount: maximumInstanceCount
    instanceMemoryMB: instanceMemoryMB
    appSettings: union(extraAppSettings, {
      KEY_VAULT_URL: keyVault.outputs.uri
      TASKHUB_NAME: taskHubName
      AUTO_APPROVAL_LIMIT: string(autoApprovalLimit)
    })
  }
  // The host reads the task hub on start; let the identity's grants land first.
  dependsOn: [
    rbac
  ]
}

output functionAppName string = functionApp.outputs.name
output functionAppHostName string = functionApp.outputs.defaultHostName
output keyVaultName string = keyVault.outputs.name
output keyVaultUri string = keyVault.outputs.uri
output storageAccountName string = storage.outputs.name
