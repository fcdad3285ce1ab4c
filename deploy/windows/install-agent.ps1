<#
.SYNOPSIS
    Installs (or upgrades) the versiond agent as a Windows service run by WinSW, without
    downloading anything itself.

.DESCRIPTION
    1. installs the agent's npm package from its tarball into -InstallDir
       (npm install --global --prefix), with the Node.js already installed on the machine;
    2. creates -DataDir (C:\ProgramData\versiond-agent) readable by SYSTEM and Administrators
       only, and copies the configuration file and the other files the agent needs (token,
       CA, certificate and key) into it;
    3. puts WinSW next to versiond-agent.xml in -InstallDir\service, with the paths of this
       installation, registers the service (LocalSystem, automatic start) and starts it.

    Run it again with a newer package to upgrade: the service is stopped, reinstalled and
    started; the agent's state (DataDir\state) is kept.

    The package's dependencies come from npm's registry, as configured on the machine
    (-Registry for an internal mirror), or from npm's cache with -Offline.

.PARAMETER Package
    The agent's package: versiond-agent-<version>.tgz (`npm run pack` in the repository).

.PARAMETER ConfigFile
    The agent's configuration, installed as DataDir\agent.json and given to
    `versiond-agent --config`. The paths in it should point into DataDir.

.PARAMETER WinSW
    WinSW's executable (WinSW-x64.exe, v2.12 or later), downloaded beforehand.

.PARAMETER Files
    Other files copied into DataDir under their own names: the token file, ca.crt, the
    agent's certificate and key.

.EXAMPLE
    .\install-agent.ps1 -Package .\versiond-agent-0.1.0.tgz -ConfigFile .\agent.json `
        -WinSW .\WinSW-x64.exe -Files .\token, .\ca.crt

.NOTES
    Documented in README.md beside this script. Needs an elevated PowerShell 5.1 or 7.
#>
#Requires -Version 5.1
#Requires -RunAsAdministrator
[CmdletBinding()]
param(
    [Parameter(Mandatory = $true)]
    [ValidateScript({ Test-Path -LiteralPath $_ -PathType Leaf })]
    [string] $Package,

    [Parameter(Mandatory = $true)]
    [ValidateScript({ Test-Path -LiteralPath $_ -PathType Leaf })]
    [string] $ConfigFile,

    [Parameter(Mandatory = $true)]
    [ValidateScript({ Test-Path -LiteralPath $_ -PathType Leaf })]
    [string] $WinSW,

    [string[]] $Files = @(),

    # Where the package and the service wrapper go.
    [string] $InstallDir = (Join-Path $env:ProgramFiles 'versiond-agent'),

    # Configuration, secrets, state and logs: SYSTEM and Administrators only.
    [string] $DataDir = (Join-Path $env:ProgramData 'versiond-agent'),

    # node.exe; by default the one on PATH.
    [string] $Node = '',

    # An npm registry (internal mirror) for the package's dependencies.
    [string] $Registry = '',

    # Take the dependencies from npm's cache only.
    [switch] $Offline,

    [string] $ServiceId = 'versiond-agent',

    # The npm package name inside the tarball.
    [string] $PackageName = 'versiond-agent'
)

Set-StrictMode -Version Latest
$ErrorActionPreference = 'Stop'

# Native programs do not throw on failure (before PowerShell 7.4): check their exit code.
function Invoke-Native {
    param(
        [Parameter(Mandatory = $true)] [string] $FilePath,
        [string[]] $ArgumentList = @()
    )
    & $FilePath @ArgumentList
    if ($LASTEXITCODE -ne 0) {
        throw "$FilePath $($ArgumentList -join ' ') failed with exit code $LASTEXITCODE"
    }
}

# --- Node.js -------------------------------------------------------------------------------
if ($Node -eq '') {
    $found = Get-Command -Name 'node.exe' -CommandType Application -ErrorAction SilentlyContinue |
        Select-Object -First 1
    if ($null -eq $found) {
        throw 'node.exe is not on PATH: install Node.js 20.19 or later (its MSI) first, or give -Node'
    }
    $Node = $found.Source
}
$Node = (Resolve-Path -LiteralPath $Node).Path
$nodeVersion = (& $Node --version).Trim().TrimStart('v')
if ([version] $nodeVersion -lt [version] '20.19.0') {
    throw "Node.js $nodeVersion at $Node is too old: the agent needs 20.19 or later"
}
$npm = Join-Path (Split-Path -Parent $Node) 'npm.cmd'
if (-not (Test-Path -LiteralPath $npm -PathType Leaf)) {
    throw "npm.cmd is not next to $Node"
}
Write-Host "Node.js $nodeVersion at $Node"

$Package = (Resolve-Path -LiteralPath $Package).Path
$ConfigFile = (Resolve-Path -LiteralPath $ConfigFile).Path
$WinSW = (Resolve-Path -LiteralPath $WinSW).Path
$template = Join-Path $PSScriptRoot 'versiond-agent.xml'
if (-not (Test-Path -LiteralPath $template -PathType Leaf)) {
    throw "versiond-agent.xml must be next to this script: $template"
}

$serviceDir = Join-Path $InstallDir 'service'
$serviceExe = Join-Path $serviceDir "$ServiceId.exe"
$serviceXml = Join-Path $serviceDir "$ServiceId.xml"

# --- An installed service is stopped and unregistered first (upgrade) ----------------------
$existing = Get-Service -Name $ServiceId -ErrorAction SilentlyContinue
if ($null -ne $existing) {
    Write-Host "Service $ServiceId exists: stopping it for the upgrade"
    if ($existing.Status -ne 'Stopped') {
        Stop-Service -Name $ServiceId   # waits; the agent has up to 120 s (stoptimeout)
    }
    if (Test-Path -LiteralPath $serviceExe -PathType Leaf) {
        Invoke-Native $serviceExe @('uninstall')
    } else {
        Invoke-Native "$env:SystemRoot\System32\sc.exe" @('delete', $ServiceId)
    }
}

# --- The package ---------------------------------------------------------------------------
New-Item -ItemType Directory -Force -Path $InstallDir | Out-Null
$npmArgs = @('install', '--global', '--prefix', $InstallDir, '--omit=dev', '--no-audit', '--no-fund')
if ($Offline) { $npmArgs += '--offline' }
if ($Registry -ne '') { $npmArgs += @('--registry', $Registry) }
$npmArgs += $Package
Write-Host "Installing $Package into $InstallDir"
Invoke-Native $npm $npmArgs

$manifestPath = Join-Path $InstallDir "node_modules\$PackageName\package.json"
if (-not (Test-Path -LiteralPath $manifestPath -PathType Leaf)) {
    throw "the package did not install $manifestPath (is $Package the agent's package, $PackageName?)"
}
$manifest = Get-Content -Raw -LiteralPath $manifestPath | ConvertFrom-Json
# Under strict mode a missing property throws: look the entries up instead.
$bin = $null
if ($null -ne $manifest.PSObject.Properties['bin']) {
    $bin = $manifest.bin.PSObject.Properties['versiond-agent']
}
if ($null -eq $bin) {
    throw "$manifestPath declares no versiond-agent command"
}
$agentJs = Join-Path (Split-Path -Parent $manifestPath) ([string] $bin.Value).Replace('/', '\')
Write-Host "$PackageName $($manifest.version): $agentJs"

# --- The data directory: SYSTEM and Administrators only ------------------------------------
# SIDs, not names: the names are translated on non-English Windows.
$system = '*S-1-5-18'
$administrators = '*S-1-5-32-544'
foreach ($dir in @($DataDir, (Join-Path $DataDir 'state'), (Join-Path $DataDir 'logs'))) {
    New-Item -ItemType Directory -Force -Path $dir | Out-Null
}
# Inherited entries removed (Users may read ProgramData by default), then full control for
# the two, inherited by everything below; files already there are reset to inherit it.
Invoke-Native "$env:SystemRoot\System32\icacls.exe" @(
    $DataDir, '/inheritance:r', '/grant:r', "${system}:(OI)(CI)F", "${administrators}:(OI)(CI)F"
)
Invoke-Native "$env:SystemRoot\System32\icacls.exe" @((Join-Path $DataDir '*'), '/reset', '/T', '/C', '/Q')

Copy-Item -LiteralPath $ConfigFile -Destination (Join-Path $DataDir 'agent.json') -Force
foreach ($file in $Files) {
    $source = (Resolve-Path -LiteralPath $file).Path
    Copy-Item -LiteralPath $source -Destination (Join-Path $DataDir (Split-Path -Leaf $source)) -Force
}

# --- WinSW and its configuration ------------------------------------------------------------
New-Item -ItemType Directory -Force -Path $serviceDir | Out-Null
Copy-Item -LiteralPath $WinSW -Destination $serviceExe -Force

[xml] $config = Get-Content -Raw -LiteralPath $template
$config.service.id = $ServiceId
$config.service.executable = $Node
$config.service.arguments = "`"$agentJs`" --config `"$(Join-Path $DataDir 'agent.json')`""
$config.service.workingdirectory = $DataDir
$config.service.logpath = (Join-Path $DataDir 'logs')
$config.Save($serviceXml)

# --- Register and start ----------------------------------------------------------------------
Invoke-Native $serviceExe @('install')
Start-Service -Name $ServiceId
Get-Service -Name $ServiceId | Format-Table -AutoSize -Property @('Status', 'Name', 'DisplayName')
$outLog = Join-Path $DataDir "logs\${ServiceId}.out.log"
Write-Host "The agent's log: $outLog"
