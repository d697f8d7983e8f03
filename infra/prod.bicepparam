// Production. Values only, never secrets: partner API keys are put into the Key Vault.
using './main.bicep'

param environmentName = 'prod'
param taskHubName = 'workflowsprod'

// Every partner needs its real endpoint: a JSON object such as
// {"fraud": "https://fraud.example.com", ...} in the environment variable PARTNER_BASE_URLS
// (the deploy workflow passes the GitHub variable of that name). The deployment is refused
// while any partner would still run on the simulator.
// An unset or empty variable means no URLs (and so a refused deployment), not a JSON error.
param partnerBaseUrls = json(empty(readEnvironmentVariable('PARTNER_BASE_URLS', '')) ? '{}' : readEnvironmentVariable('PARTNER_BASE_URLS', ''))
param requireLivePartners = true

// The task hub holds every running workflow: geo-zone-redundant storage, zone-redundant plan.
param storageSku = 'Standard_GZRS'
param zoneRedundant = true
param maximumInstanceCount = 100
param instanceMemoryMB = 2048
param logRetentionInDays = 90

// Neither the task hub's storage nor the vault can be deleted without first removing a lock.
param protectFromDeletion = true

// Storage and Key Vault only through private endpoints in the app's VNet. To set secrets from
// outside, list your public IP range here, e.g. ['203.0.113.0/24'].
param privateNetworking = true
param keyVaultOperatorIpRanges = []

// The app registration that signs callers in (docs/deploy.md, "Sign-in and roles"); an empty
// value fails the deployment on authClientId's length.
param authClientId = readEnvironmentVariable('AUTH_CLIENT_ID', '')
