// Development. Values only, never secrets: partner API keys are put into the Key Vault.
using './main.bicep'

param environmentName = 'dev'
param taskHubName = 'workflowsdev'

// Partners without a base URL run on the local simulator here.
param partnerBaseUrls = {}
param requireLivePartners = false

// Zone-redundant storage without the geo copy; the plan stays in one zone.
param storageSku = 'Standard_ZRS'
param zoneRedundant = false
param maximumInstanceCount = 40
param instanceMemoryMB = 2048
param logRetentionInDays = 30

// Public endpoints (Entra ID only, no keys) keep dev reachable from a laptop.
param privateNetworking = false

// The app registration that signs callers in (docs/deploy.md, "Sign-in and roles"); an empty
// value fails the deployment on authClientId's length.
param authClientId = readEnvironmentVariable('AUTH_CLIENT_ID', '')
