// The workflows app on Azure: a Flex Consumption Function App with its task-hub storage,
// Key Vault for partner secrets, and Application Insights, all reached with one user-assigned
// identity. Deployed into an existing resource group with a .bicepparam file per environment.

targetScope = 'resourceGroup'

@description('Short name of the app; part of every resource name.')
@minLength(2)
@maxLength(12)
param appName string = 'workflows'

@description('Environment name (dev, prod, or an azd environment): lowercase letters, digits and dashes.')
@minLength(2)
@maxLength(20)
param environmentName string

param location string = resourceGroup().location

@description('Durable task hub name: 3-45 letters and digits, starting with a letter; one per environment.')
@minLength(3)
@maxLength(45)
param taskHubName string = '${replace(appName, '-', '')}${replace(environmentName, '-', '')}'

@description('Claims up to this amount are approved without a person.')
@minValue(0)
param autoApprovalLimit int = 2000

@description('Fraud score (0-1) from which a claim goes to a person.')
param fraudThreshold string = '0.7'

param claimsSupervisorEmail string = 'claims-supervisors@example.com'

@description('Minutes a carrier may be late for pickup before the dispatcher is told.')
@minValue(0)
param pickupGraceMinutes int = 30

@description('Days a finished instance keeps its history before the daily purge removes it.')
@minValue(1)
param historyRetentionDays int = 90

param dispatcherAddress string = 'dispatch@example.com'
param maintenancePlannerAddress string = 'maintenance-planning@example.com'
param maintenanceManagerAddress string = 'maintenance-manager@example.com'

@description('Carrier codes asked for quotes; empty asks every carrier the app knows.')
param carrierCodes array = []

@description('Base URL per partner (documents, images, policies, fraud, payments, notifications, carriers, suppliers, compliance). A partner without one runs on the local simulator. API keys go to Key Vault as <partner>-api-key.')
param partnerBaseUrls object = {}

@description('Refuse to deploy while any partner would run on the local simulator (production).')
param requireLivePartners bool = false

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

@description('Where the task hub lives: AzureStorage (queues, tables and blobs in the storage account) or DurableTaskScheduler (the managed backend, for more throughput than one storage account gives; docs/deploy.md compares them). Fixed for the life of a task hub.')
@allowed([
  'AzureStorage'
  'DurableTaskScheduler'
])
param durableBackend string = 'AzureStorage'

@description('Durable Task Scheduler billing: Consumption (per action, up to 500 actions/s) or Dedicated (capacity units of 2,000 actions/s).')
@allowed([
  'Consumption'
  'Dedicated'
])
param schedulerSku string = 'Consumption'

@description('Capacity units of a Dedicated scheduler; 3 makes it highly available.')
@minValue(1)
@maxValue(3)
param schedulerCapacity int = 1

@description('Addresses (CIDR) allowed to reach the scheduler; never empty, which would refuse the app too. Flex Consumption has no fixed outbound address, so the default admits any and the app identity\'s role is the gate.')
@minLength(1)
param schedulerIpAllowlist array = [
  '0.0.0.0/0'
]

@description('VNet integration, with storage and Key Vault reachable only through private endpoints.')
param privateNetworking bool = false

@description('Address space of the VNet when privateNetworking is on; it must hold both subnets.')
param vnetAddressPrefix string = '10.40.0.0/16'

@description('Subnet the app joins (delegated to Microsoft.App/environments); /24 leaves room to scale out.')
param appSubnetPrefix string = '10.40.0.0/24'

param privateEndpointSubnetPrefix string = '10.40.1.0/24'

@description('Public IPv4 ranges (CIDR) allowed to the vault when privateNetworking is on, to set secrets.')
param keyVaultOperatorIpRanges array = []

@description('Delete locks (CanNotDelete) on the storage account (the task hub) and the vault. Creating them needs Microsoft.Authorization/locks/write, which Contributor lacks.')
param protectFromDeletion bool = false

@description('Email address told when an alert fires (failed orchestrations, Key Vault refusals); empty leaves the alerts in the portal only.')
param alertEmailAddress string = ''

@description('Client (application) id of the Entra ID app registration that signs callers in (docs/deploy.md creates it with its app roles).')
@minLength(36)
@maxLength(36)
param authClientId string

@description('Tenant of that app registration; the deployment\'s tenant unless told otherwise.')
param authTenantId string = tenant().tenantId

@description('Optional Entra ID object id that may manage Key Vault secrets (Key Vault Secrets Officer).')
#disable-next-line secure-secrets-in-params // an object id, not a secret
param secretsOfficerPrincipalId string = ''

var token = toLower(uniqueString(resourceGroup().id, appName, environmentName))
var compactName = toLower(replace(appName, '-', ''))
var tags = {
  app: appName
  environment: environmentName
}
// The orchestration version this package stamps on new instances: host.json's
// durableTask.defaultVersion, read from the one place it is declared (docs/releases.md).
var workflowVersion = loadJsonContent('../host.json').extensions.durableTask.defaultVersion
// azd finds the app to deploy `services.api` (azure.yaml) to by this tag.
var azdServiceTag = {
  'azd-service-name': 'api'
}
var names = {
  identity: 'id-${appName}-${environmentName}'
  logAnalytics: 'log-${appName}-${environmentName}'
  appInsights: 'appi-${appName}-${environmentName}'
  plan: 'plan-${appName}-${environmentName}'
  functionApp: 'func-${appName}-${environmentName}-${token}'
  storage: take('st${compactName}${token}', 24)
  keyVault: take('kv${compactName}${token}', 24)
  network: '${appName}-${environmentName}'
  scheduler: 'dts-${appName}-${environmentName}'
  deploymentContainer: 'app-package'
}

// Every partner the code knows, so each <PARTNER>_BASE_URL setting exists even when empty.
var knownPartners = {
  documents: ''
  images: ''
  policies: ''
  fraud: ''
  payments: ''
  notifications: ''
  carriers: ''
  suppliers: ''
  compliance: ''
}
var partnerUrls = union(knownPartners, partnerBaseUrls)
var partnerUrlMissing = [for partner in items(partnerUrls): empty(partner.value)]

// Azure Storage task hubs: letters and digits only, starting with a letter (length is checked
// by the decorators). Splitting on every allowed character leaves only the others.
var alphanumerics = split('a,b,c,d,e,f,g,h,i,j,k,l,m,n,o,p,q,r,s,t,u,v,w,x,y,z,0,1,2,3,4,5,6,7,8,9', ',')
var taskHubNameIsValid = empty(join(split(toLower(taskHubName), alphanumerics), '')) && contains(take(alphanumerics, 26), toLower(first(taskHubName)))

// The settings the app code reads (local.settings.json.example lists the same names).
var appSettings = {
  TASKHUB_NAME: taskHubName
  KEY_VAULT_URL: keyVault.outputs.uri
  AUTO_APPROVAL_LIMIT: string(autoApprovalLimit)
  FRAUD_THRESHOLD: fraudThreshold
  CLAIMS_SUPERVISOR_EMAIL: claimsSupervisorEmail
  PICKUP_GRACE_MINUTES: string(pickupGraceMinutes)
  HISTORY_RETENTION_DAYS: string(historyRetentionDays)
  DISPATCHER_ADDRESS: dispatcherAddress
  MAINTENANCE_PLANNER_ADDRESS: maintenancePlannerAddress
  MAINTENANCE_MANAGER_ADDRESS: maintenanceManagerAddress
  CARRIER_CODES: join(carrierCodes, ',')
  DOCUMENTS_BASE_URL: partnerUrls.documents
  IMAGES_BASE_URL: partnerUrls.images
  POLICIES_BASE_URL: partnerUrls.policies
  FRAUD_BASE_URL: partnerUrls.fraud
  PAYMENTS_BASE_URL: partnerUrls.payments
  NOTIFICATIONS_BASE_URL: partnerUrls.notifications
  CARRIERS_BASE_URL: partnerUrls.carriers
  SUPPLIERS_BASE_URL: partnerUrls.suppliers
  COMPLIANCE_BASE_URL: partnerUrls.compliance
  // Simulated partners keep their ledger on the instance's local disk (the package is
  // read-only), inject no failures and answer without delay.
  SIMULATOR_STATE_PATH: '/tmp/workflows-simulator.sqlite'
  SIMULATOR_FAILURES: ''
  SIMULATOR_SLOW_MS: '0'
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
    publicNetworkAccess: privateNetworking ? 'Disabled' : 'Enabled'
    networkDefaultAction: privateNetworking ? 'Deny' : 'Allow'
  }
}

module keyVault 'modules/keyvault.bicep' = {
  name: 'keyVault'
  params: {
    name: names.keyVault
    location: location
    tags: tags
    // Private: only the private endpoint, plus operators' listed ranges when there are any.
    publicNetworkAccess: privateNetworking && empty(keyVaultOperatorIpRanges) ? 'Disabled' : 'Enabled'
    networkDefaultAction: privateNetworking ? 'Deny' : 'Allow'
    operatorIpRanges: privateNetworking ? keyVaultOperatorIpRanges : []
  }
}

module network 'modules/network.bicep' = if (privateNetworking) {
  name: 'network'
  params: {
    namePrefix: names.network
    location: location
    tags: tags
    addressPrefix: vnetAddressPrefix
    appSubnetPrefix: appSubnetPrefix
    endpointSubnetPrefix: privateEndpointSubnetPrefix
    storageAccountId: storage.outputs.id
    keyVaultId: keyVault.outputs.id
  }
}

module diagnostics 'modules/diagnostics.bicep' = {
  name: 'diagnostics'
  params: {
    workspaceId: monitoring.outputs.workspaceId
    storageAccountName: storage.outputs.name
    keyVaultName: keyVault.outputs.name
  }
}

module locks 'modules/locks.bicep' = if (protectFromDeletion) {
  name: 'locks'
  params: {
    storageAccountName: storage.outputs.name
    keyVaultName: keyVault.outputs.name
  }
}

module alerts 'modules/alerts.bicep' = {
  name: 'alerts'
  params: {
    namePrefix: '${appName}-${environmentName}'
    location: location
    tags: tags
    workspaceId: monitoring.outputs.workspaceId
    emailAddress: alertEmailAddress
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

module scheduler 'modules/scheduler.bicep' = if (durableBackend == 'DurableTaskScheduler') {
  name: 'scheduler'
  params: {
    name: names.scheduler
    location: location
    tags: tags
    taskHubName: taskHubName
    sku: schedulerSku
    capacity: schedulerCapacity
    ipAllowlist: schedulerIpAllowlist
    principalId: identity.outputs.principalId
  }
}

module functionApp 'modules/functionapp.bicep' = {
  name: 'functionApp'
  params: {
    name: names.functionApp
    planName: names.plan
    location: location
    tags: union(tags, azdServiceTag, { 'workflow-version': workflowVersion })
    identityId: identity.outputs.id
    identityClientId: identity.outputs.clientId
    storageAccountName: storage.outputs.name
    storageBlobEndpoint: storage.outputs.blobEndpoint
    deploymentContainerName: storage.outputs.deploymentContainerName
    applicationInsightsConnectionString: monitoring.outputs.connectionString
    zoneRedundant: zoneRedundant
    maximumInstanceCount: maximumInstanceCount
    instanceMemoryMB: instanceMemoryMB
    virtualNetworkSubnetId: privateNetworking ? network!.outputs.appSubnetId : ''
    // The scheduler module holds the app identity's role, so the app starts after it.
    durableTaskSchedulerEndpoint: durableBackend == 'DurableTaskScheduler' ? scheduler!.outputs.endpoint : ''
    appSettings: appSettings
    authClientId: authClientId
    authTenantId: authTenantId
    // any(): the module params only accept the literal true, which a computed bool is not
    // statically; ARM checks the value when it validates the deployment.
    #disable-next-line no-explicit-any // see above
    taskHubNameIsValid: any(taskHubNameIsValid)
    #disable-next-line no-explicit-any // see above
    livePartnersWhereRequired: any(!requireLivePartners || !contains(partnerUrlMissing, true))
  }
  // The host reads the task hub on start; let the identity's grants land first.
  dependsOn: [
    rbac
  ]
}

output functionAppName string = functionApp.outputs.name
output functionAppHostName string = functionApp.outputs.defaultHostName
output applicationInsightsName string = monitoring.outputs.applicationInsightsName
output keyVaultName string = keyVault.outputs.name
output keyVaultUri string = keyVault.outputs.uri
output storageAccountName string = storage.outputs.name
output taskHubName string = taskHubName
output workflowVersion string = workflowVersion
