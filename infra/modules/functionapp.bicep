// Flex Consumption plan and the Linux Python Function App. The app reaches storage, Key Vault
// and Application Insights as its user-assigned identity; no connection string carries a key.

param name string
param planName string
param location string
param tags object = {}

@description('Resource id of the user-assigned identity the app runs as.')
param identityId string

@description('Client id of that identity; storage bindings and DefaultAzureCredential pick it by this id.')
param identityClientId string

param storageAccountName string

@description('Blob endpoint of the storage account, e.g. https://<name>.blob.core.windows.net/.')
param storageBlobEndpoint string

param deploymentContainerName string
param applicationInsightsConnectionString string

@description('Client (application) id of the Entra ID app registration that signs callers in; its app roles say who may take each portal action.')
@minLength(36)
@maxLength(36)
param authClientId string

@description('Tenant of that app registration.')
param authTenantId string

@description('Paths served without sign-in (excludedPaths of App Service Authentication; /dir/* for all below): the console page and its assets; the page sends a browser to sign in itself.')
param anonymousPaths array = [
  '/api/console'
  '/api/console/assets/*'
]

@description('Settings the app code reads; merged over the platform settings.')
param appSettings object = {}

// Checks on the settings that Bicep cannot express as decorators (it has no pattern decorator,
// and checkov cannot parse fail()): the caller passes each check's result, and ARM rejects a
// false value when it validates the deployment, naming the parameter. Only that validation
// reads them.
@description('TASKHUB_NAME holds only letters and digits and starts with a letter (Azure Storage task hub rule).')
@allowed([
  true
])
#disable-next-line no-unused-params
param taskHubNameIsValid bool

@description('Every partner has a base URL where live partners are required (no simulator in production).')
@allowed([
  true
])
#disable-next-line no-unused-params
param livePartnersWhereRequired bool

@description('Resource id of the subnet (delegated to Microsoft.App/environments) the app joins; empty for none.')
param virtualNetworkSubnetId string = ''

@description('Endpoint of the Durable Task Scheduler that holds the task hub; empty keeps the task hub in Azure Storage.')
param durableTaskSchedulerEndpoint string = ''

@allowed([
  '3.12'
])
param pythonVersion string = '3.12'

@description('Spread instances over availability zones (the region must support it for Flex Consumption).')
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

var platformSettings = {
  AzureWebJobsStorage__accountName: storageAccountName
  AzureWebJobsStorage__credential: 'managedidentity'
  AzureWebJobsStorage__clientId: identityClientId
  AZURE_CLIENT_ID: identityClientId
  APPLICATIONINSIGHTS_CONNECTION_STRING: applicationInsightsConnectionString
  // Application Insights has local auth disabled: the host and the app's exporters use Entra ID.
  APPLICATIONINSIGHTS_AUTHENTICATION_STRING: 'ClientId=${identityClientId};Authorization=AAD'
  // Who acts comes only from App Service Authentication: the body's `actor` field is for
  // unauthenticated local use and stays off in Azure, whatever the caller passes.
  ACCEPT_ACTOR_FIELD: 'false'
}

// The Durable Task Scheduler backend, chosen by app settings so that one host.json serves both
// backends: the host reads AzureFunctionsJobHost__a__b as host.json's a.b, and the connection
// string names the endpoint and the identity, never a key.
var schedulerSettings = {
  DURABLE_TASK_SCHEDULER_CONNECTION_STRING: 'Endpoint=${durableTaskSchedulerEndpoint};Authentication=ManagedIdentity;ClientID=${identityClientId}'
  AzureFunctionsJobHost__extensions__durableTask__storageProvider__type: 'azureManaged'
  AzureFunctionsJobHost__extensions__durableTask__storageProvider__connectionStringName: 'DURABLE_TASK_SCHEDULER_CONNECTION_STRING'
}
var durableTaskSchedulerSettings = empty(durableTaskSchedulerEndpoint) ? {} : schedulerSettings

var settings = union(appSettings, platformSettings, durableTaskSchedulerSettings)

// Flex Consumption scales per function group: every HTTP function together (`http`), every
// orchestrator, activity and entity together (`durable`), and each function with another
// trigger on its own (`function:<name>`): here the nightly history purge (jobs/retention.py).
// tests/infra checks this list against the app's functions.
var scaleGroups = [
  'http'
  'durable'
  'function:purge_finished_history'
]
// Always-ready instances (docs/deploy.md, "Zone redundancy and what it costs" and "Durable
// Functions on Flex Consumption"). Zone-redundant: two for every group, the fewest the platform
// accepts there and the number it keeps (and bills) whatever is configured. Otherwise one for
// `durable`, as Microsoft advises for Durable Functions on Flex Consumption, so an instance is
// always polling the task hub's queues; `http` and the purge scale from zero.
var zoneRedundantAlwaysReady = [
  for group in scaleGroups: {
    name: group
    instanceCount: 2
  }
]
var singleZoneAlwaysReady = [
  {
    name: 'durable'
    instanceCount: 1
  }
]

resource plan 'Microsoft.Web/serverfarms@2025-03-01' = {
  name: planName
  location: location
  tags: tags
  kind: 'functionapp'
  sku: {
    tier: 'FlexConsumption'
    name: 'FC1'
  }
  properties: {
    reserved: true
    zoneRedundant: zoneRedundant
  }
}

resource app 'Microsoft.Web/sites@2025-03-01' = {
  name: name
  location: location
  tags: tags
  kind: 'functionapp,linux'
  identity: {
    type: 'UserAssigned'
    userAssignedIdentities: {
      '${identityId}': {}
    }
  }
  properties: {
    serverFarmId: plan.id
    httpsOnly: true
    // checkov:skip=CKV_AZURE_222: portals and operators call the HTTP API over the internet with function keys
    publicNetworkAccess: 'Enabled'
    // checkov:skip=CKV_AZURE_17: callers authenticate with function keys, not client certificates
    keyVaultReferenceIdentity: identityId
    virtualNetworkSubnetId: empty(virtualNetworkSubnetId) ? null : virtualNetworkSubnetId
    siteConfig: {
      // checkov:skip=CKV_AZURE_78: Flex Consumption has no FTP endpoint and rejects ftpsState; the ftp publishing policy below is off
      minTlsVersion: '1.2'
      scmMinTlsVersion: '1.2'
      http20Enabled: true
      appSettings: [
        for setting in items(settings): {
          name: setting.key
          value: setting.value
        }
      ]
    }
    functionAppConfig: {
      deployment: {
        storage: {
          type: 'blobContainer'
          value: '${storageBlobEndpoint}${deploymentContainerName}'
          authentication: {
            type: 'UserAssignedIdentity'
            userAssignedIdentityResourceId: identityId
          }
        }
      }
      // checkov:skip=CKV_AZURE_212: Flex Consumption scales instances itself; there is no worker count to pin
      // checkov:skip=CKV_AZURE_213: health check eviction is an App Service plan feature that Flex Consumption lacks
      scaleAndConcurrency: {
        alwaysReady: zoneRedundant ? zoneRedundantAlwaysReady : singleZoneAlwaysReady
        maximumInstanceCount: maximumInstanceCount
        instanceMemoryMB: instanceMemoryMB
      }
      runtime: {
        name: 'python'
        version: pythonVersion
      }
    }
  }
}

// App Service Authentication with Entra ID: the platform validates every caller's token,
// strips client-sent X-MS-CLIENT-PRINCIPAL headers and passes the signed-in principal (with
// its app roles) to the app, which checks the role each action needs. API calls without a
// token get 401 before the app runs; the console page (anonymousPaths) redirects a browser to
// /.auth/login/aad itself. No client secret: browsers sign in with ID tokens (form post).
resource authentication 'Microsoft.Web/sites/config@2025-03-01' = {
  parent: app
  name: 'authsettingsV2'
  properties: {
    // checkov reads this config resource as a whole site; the site's checks are on `app` above.
    // checkov:skip=CKV_AZURE_13: this resource is the App Service Authentication it asks for
    // checkov:skip=CKV_AZURE_63: a site check (HTTP logging), not about authentication settings
    // checkov:skip=CKV_AZURE_65: a site check (detailed errors), not about authentication settings
    // checkov:skip=CKV_AZURE_66: a site check (request tracing), not about authentication settings
    // checkov:skip=CKV_AZURE_80: a site check (.NET version); the app runs Python
    // checkov:skip=CKV_AZURE_88: a site check (Azure Files); Flex Consumption has no content share
    // checkov:skip=CKV_AZURE_222: a site check; the site's public access is decided on `app`
    platform: {
      enabled: true
    }
    globalValidation: {
      requireAuthentication: true
      unauthenticatedClientAction: 'Return401'
      excludedPaths: anonymousPaths
    }
    httpSettings: {
      requireHttps: true
    }
    identityProviders: {
      azureActiveDirectory: {
        enabled: true
        registration: {
          clientId: authClientId
          openIdIssuer: '${environment().authentication.loginEndpoint}${authTenantId}/v2.0'
        }
        validation: {
          allowedAudiences: [
            authClientId
            'api://${authClientId}'
          ]
        }
      }
    }
    login: {
      tokenStore: {
        enabled: false
      }
    }
  }
}

// Deployments go through Entra ID (azure/login + OneDeploy); basic-auth publishing stays off.
resource ftpPublishing 'Microsoft.Web/sites/basicPublishingCredentialsPolicies@2025-03-01' = {
  parent: app
  name: 'ftp'
  properties: {
    allow: false
  }
}

resource scmPublishing 'Microsoft.Web/sites/basicPublishingCredentialsPolicies@2025-03-01' = {
  parent: app
  name: 'scm'
  properties: {
    allow: false
  }
}

output name string = app.name
output defaultHostName string = app.properties.defaultHostName
