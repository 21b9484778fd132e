package bundle

// The HTML report is well-formed XHTML-compatible markup (every element
// closed, every attribute quoted), so that tests can parse it with
// encoding/xml; html/template escapes every value.
const htmlTemplate = `<!DOCTYPE html>
<html lang="en">
<head>
<meta charset="utf-8"/>
<title>Evidence bundle {{.Incident}}</title>
<style>
body { font-family: sans-serif; margin: 2em; color: #111; max-width: 75em; }
h1 { font-size: 1.5em; } h2 { font-size: 1.25em; margin-top: 2em; border-bottom: 1px solid #999; } h3 { font-size: 1.1em; }
table { border-collapse: collapse; margin: 0.5em 0; width: 100%; }
th, td { border: 1px solid #bbb; padding: 0.25em 0.5em; text-align: left; vertical-align: top; font-size: 0.9em; }
th { background: #eee; }
code, .hash, pre { font-family: monospace; word-break: break-all; }
pre { background: #f4f4f4; padding: 0.5em; white-space: pre-wrap; }
.kv th { width: 14em; }
details summary { cursor: pointer; color: #333; }
@media print { details { display: none; } }
</style>
</head>
<body>
<h1>Evidence bundle for incident {{.Incident}}</h1>
<table class="kv" id="summary">
<tr><th>Incident reference</th><td>{{.Incident}}</td></tr>
<tr><th>Source organisation</th><td>{{.Organization}}</td></tr>
<tr><th>Contact</th><td>{{.Contact}}</td></tr>
<tr><th>Bundle</th><td><code>{{.Bundle}}</code></td></tr>
<tr><th>Created</th><td>{{.Created}}</td></tr>
<tr><th>Station key fingerprint</th><td class="hash" id="station">{{.Station}}</td></tr>
<tr><th>Sent to (receiver key)</th><td id="receiver">{{if .Receiver}}<span class="hash">{{.Receiver}}</span>: only a receipt signed with this key is accepted<br><code>{{.ReceiverKey}}</code>{{else}}no receiver named: the station accepts no receipt for this bundle{{end}}</td></tr>
<tr><th>Store</th><td class="hash">{{.Store}}</td></tr>
<tr><th>Export ledger entry</th><td>#{{.Export}} (line {{.ExportLine}} of custody/ledger.jsonl)</td></tr>
<tr><th>Signed checkpoint</th><td>first {{.Checkpoint}} ledger entries, Merkle root <span class="hash">{{.CheckpointRoot}}</span></td></tr>
</table>

<h2 id="exhibits">Exhibits</h2>
<table>
<tr><th>Exhibit</th><th>File</th><th>What it is</th><th>Size (bytes)</th><th>SHA-256 of the file</th></tr>
{{range .Exhibits}}<tr class="exhibit">
<td>{{.Exhibit}}</td>
<td><code>{{.Path}}</code></td>
<td>{{if .Encrypted}}sealed original of clip <code>{{.Clip}}</code>, age-encrypted to the receiver; the recording inside is {{.PlainSize}} bytes with SHA-256 <span class="hash">{{.PlainSHA256}}</span>{{else}}redacted version (clip <code>{{.Clip}}</code>) of original <code>{{.Parent}}</code>, playable video{{end}}</td>
<td>{{.Size}}</td>
<td class="hash">{{.SHA256}}</td>
</tr>
{{end}}</table>

{{range .Clips}}
<h2 id="clip-{{.ID}}">Clip {{.ID}} ({{.Kind}}){{if .Exhibits}}: exhibit {{range $i, $e := .Exhibits}}{{if $i}}, {{end}}{{$e}}{{end}}{{end}}</h2>
<table class="kv">
<tr><th>File name at import</th><td>{{.Filename}}</td></tr>
<tr><th>SHA-256 (plaintext)</th><td class="hash">{{.SHA256}}</td></tr>
<tr><th>Size</th><td>{{.Size}} bytes</td></tr>
{{if .Parent}}<tr><th>Made from</th><td>clip <code>{{.Parent}}</code>, SHA-256 <span class="hash">{{.ParentSHA256}}</span></td></tr>{{end}}
<tr><th>Recorded at</th><td>{{.RecordedAt}} (from {{.RecordedAtSource}})</td></tr>
{{if .Device}}<tr><th>Device</th><td>{{.Device}}</td></tr>{{end}}
{{if .Wearer}}<tr><th>Wearer</th><td>{{.Wearer}}</td></tr>{{end}}
{{if .Location}}<tr><th>Location</th><td>{{.Location}}</td></tr>{{end}}
{{if .Note}}<tr><th>Note</th><td>{{.Note}}</td></tr>{{end}}
{{if .Media}}<tr><th>Media</th><td>{{.Media}}</td></tr>{{end}}
<tr><th>Sealed in the store</th><td>{{.ImportedAt}} by {{.ImportedBy}}</td></tr>
</table>
{{with .Redaction}}
<h3>Redaction</h3>
<table class="kv redaction">
{{if .Tool}}<tr><th>Tool</th><td>{{.Tool}}</td></tr>{{end}}
{{if .Detectors}}<tr><th>Detectors and models</th><td>{{range .Detectors}}<div>{{.}}</div>{{end}}</td></tr>{{end}}
{{if .Params}}<tr><th>Parameters</th><td>{{.Params}}</td></tr>{{end}}
<tr><th>Masked tracks</th><td>{{.Tracks}}{{range .TrackRows}}<div>{{.}}</div>{{end}}</td></tr>
<tr><th>Reviewer edits</th><td>{{if .Edits}}{{range .Edits}}<div class="edit">{{.}}</div>{{end}}{{else}}none{{end}}</td></tr>
{{range .Other}}<tr><th>Other</th><td>{{.}}</td></tr>{{end}}
</table>
{{end}}
{{if .Consent}}
<h3>Consent history</h3>
<table class="consent">
<tr><th>Entry</th><th>Time (UTC)</th><th>Who</th><th>What</th></tr>
{{range .Consent}}<tr><td>#{{.Seq}}</td><td>{{.Time}}</td><td>{{.Actor}}</td><td>{{.Summary}}</td></tr>
{{end}}</table>
{{end}}
<h3>Custody timeline</h3>
<table class="timeline">
<tr><th>Entry</th><th>Time (UTC)</th><th>Who</th><th>Action</th><th>What happened</th></tr>
{{range .Timeline}}<tr class="event">
<td>#{{.Seq}} (line {{.Line}})</td>
<td>{{.Time}}</td>
<td>{{.Actor}}<div class="hash">{{.Key}}</div></td>
<td>{{.Action}}</td>
<td>{{.Summary}}{{if .Details}}<details><summary>entry payload</summary><pre>{{.Details}}</pre></details>{{end}}</td>
</tr>
{{end}}</table>
{{end}}

<h2 id="verify">How to verify this bundle</h2>
<p>Everything below works offline. The station key fingerprint to compare out of band is <code>{{.Station}}</code>.</p>
<ol>
{{range .Steps}}<li class="step"><p><strong>{{.Title}}.</strong> {{.Text}}</p>
{{if .Commands}}<pre>{{range .Commands}}{{.}}
{{end}}</pre>{{end}}</li>
{{end}}</ol>
<p>This report is part of the bundle and is covered by its signed statement and tag manifest; the files, the ledger entries and their signatures are the evidence, the report is a reading aid.</p>
</body>
</html>
`

const textTemplate = `EVIDENCE BUNDLE FOR INCIDENT {{clean .Incident}}
==========================================================================

Incident reference       {{clean .Incident}}
Source organisation      {{clean .Organization}}
Contact                  {{clean .Contact}}
Bundle                   {{clean .Bundle}}
Created                  {{.Created}}
Station key fingerprint  {{.Station}}
Sent to (receiver key)   {{if .Receiver}}{{.Receiver}} (only a receipt signed with this key is accepted)
                         {{.ReceiverKey}}{{else}}no receiver named: the station accepts no receipt for this bundle{{end}}
Store                    {{.Store}}
Export ledger entry      #{{.Export}} (line {{.ExportLine}} of custody/ledger.jsonl)
Signed checkpoint        first {{.Checkpoint}} ledger entries, root {{.CheckpointRoot}}

EXHIBITS
--------------------------------------------------------------------------
{{range .Exhibits}}
{{.Exhibit}}  {{.Path}}
  {{if .Encrypted}}sealed original of clip {{.Clip}}, age-encrypted to the receiver
  recording inside: {{.PlainSize}} bytes, sha256 {{.PlainSHA256}}{{else}}redacted version (clip {{.Clip}}) of original {{.Parent}}, playable video{{end}}
  size    {{.Size}} bytes
  sha256  {{.SHA256}}
{{end}}
{{range .Clips}}
CLIP {{.ID}} ({{.Kind}}){{if .Exhibits}}: exhibit {{range $i, $e := .Exhibits}}{{if $i}}, {{end}}{{$e}}{{end}}{{end}}
--------------------------------------------------------------------------
File name at import  {{clean .Filename}}
SHA-256 (plaintext)  {{.SHA256}}
Size                 {{.Size}} bytes
{{if .Parent}}Made from            clip {{.Parent}}, sha256 {{.ParentSHA256}}
{{end}}Recorded at          {{clean .RecordedAt}} (from {{clean .RecordedAtSource}})
{{if .Device}}Device               {{clean .Device}}
{{end}}{{if .Wearer}}Wearer               {{clean .Wearer}}
{{end}}{{if .Location}}Location             {{clean .Location}}
{{end}}{{if .Note}}Note                 {{clean .Note}}
{{end}}{{if .Media}}Media                {{clean .Media}}
{{end}}Sealed in the store  {{.ImportedAt}} by {{clean .ImportedBy}}
{{with .Redaction}}
Redaction
{{if .Tool}}  tool        {{clean .Tool}}
{{end}}{{range .Detectors}}  detector    {{clean .}}
{{end}}{{if .Params}}  parameters  {{clean .Params}}
{{end}}  tracks      {{.Tracks}} masked
{{range .TrackRows}}    {{clean .}}
{{end}}{{range .Edits}}  edit        {{clean .}}
{{else}}  edits       none
{{end}}{{range .Other}}  other       {{clean .}}
{{end}}{{end}}{{if .Consent}}
Consent history
{{range .Consent}}  #{{.Seq}}  {{.Time}}  {{clean .Actor}}: {{clean .Summary}}
{{end}}{{end}}
Custody timeline
{{range .Timeline}}  #{{.Seq}}  {{.Time}}  {{clean .Action}}  by {{clean .Actor}} ({{.Key}})
      {{clean .Summary}}
{{end}}{{end}}
HOW TO VERIFY THIS BUNDLE
--------------------------------------------------------------------------
Everything below works offline. The station key fingerprint to compare
out of band is {{.Station}}.
{{range $i, $s := .Steps}}
{{add $i 1}}. {{$s.Title}}.
{{if $s.Text}}   {{clean $s.Text}}
{{end}}{{if $s.Commands}}
{{range $s.Commands}}     {{.}}
{{end}}{{end}}{{end}}
This report is part of the bundle and is covered by its signed statement
and tag manifest; the files, the ledger entries and their signatures are
the evidence, the report is a reading aid.
`
