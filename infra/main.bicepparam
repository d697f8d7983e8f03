// Parameters for `azd up` / `azd provision`: values come from the azd environment, so each
// azd environment gets its own names and task hub. dev.bicepparam and prod.bicepparam serve
// `az deployment group create` and the deploy workflow.
using './main.bicep'

param environmentName = readEnvironmentVariable('AZURE_ENV_NAME', 'dev')
param location = readEnvironmentVariable('AZURE_LOCATION', 'westeurope')

// Whoever runs azd may manage the vault's secrets.
param secretsOfficerPrincipalId = readEnvironmentVariable('AZURE_PRINCIPAL_ID', '')

// A developer environment: zone-redundant storage, a single-zone plan, partners simulated.
param storageSku = 'Standard_ZRS'
param zoneRedundant = false
param maximumInstanceCount = 40

// The app registration that signs callers in (docs/deploy.md, "Sign-in and roles"); an empty
// value fails the deployment on authClientId's length.
param authClientId = readEnvironmentVariable('AUTH_CLIENT_ID', '')
