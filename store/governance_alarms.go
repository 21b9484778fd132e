package store

import (
	"bytes"
	"encoding/csv"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"strings"
	"time"
)

// ErrBadAlarms means an alarms file could not be read.
var ErrBadAlarms = errors.New("bad alarms file")

// ParseAlarms reads panic-alarm events for bulk holds, as exported by an
// alarm system: JSON (an array of objects, or {"alarms": [...]}) or CSV
// with a header row. The fields are time (RFC 3339), location, device, and
// optionally incident; CSV column names are matched case-insensitively and
// "timestamp"/"at" are taken for time.
func ParseAlarms(r io.Reader) ([]Alarm, error) {
	data, err := io.ReadAll(io.LimitReader(r, 64<<20))
	if err != nil {
		return nil, err
	}
	trimmed := bytes.TrimSpace(data)
	if len(trimmed) == 0 {
		return nil, fmt.Errorf("%w: the file is empty", ErrBadAlarms)
	}
	var alarms []Alarm
	switch trimmed[0] {
	case '[', '{':
		alarms, err = parseAlarmsJSON(trimmed)
	default:
		alarms, err = parseAlarmsCSV(trimmed)
	}
	if err != nil {
		return nil, err
	}
	if len(alarms) == 0 {
		return nil, fmt.Errorf("%w: no alarms in it", ErrBadAlarms)
	}
	for i := range alarms {
		a := &alarms[i]
		t, err := time.Parse(time.RFC3339Nano, strings.TrimSpace(a.Time))
		if err != nil {
			return nil, fmt.Errorf("%w: alarm %d: time %q is not RFC 3339 (like 2026-11-22T09:20:00Z)", ErrBadAlarms, i+1, a.Time)
		}
		a.Time = t.UTC().Format(time.RFC3339Nano)
		a.Location, a.Device, a.Incident = strings.TrimSpace(a.Location), strings.TrimSpace(a.Device), strings.TrimSpace(a.Incident)
	}
	return alarms, nil
}

func parseAlarmsJSON(b []byte) ([]Alarm, error) {
	var raw []map[string]any
	if b[0] == '{' {
		var wrap struct {
			Alarms []map[string]any `json:"alarms"`
		}
		if err := json.Unmarshal(b, &wrap); err != nil {
			return nil, fmt.Errorf("%w: %v", ErrBadAlarms, err)
		}
		raw = wrap.Alarms
	} else if err := json.Unmarshal(b, &raw); err != nil {
		return nil, fmt.Errorf("%w: %v", ErrBadAlarms, err)
	}
	out := make([]Alarm, 0, len(raw))
	for i, m := range raw {
		a := Alarm{}
		for k, v := range m {
			s, ok := v.(string)
			if !ok {
				if v == nil {
					continue
				}
				s = fmt.Sprint(v)
			}
			if !setAlarmField(&a, k, s) {
				continue
			}
		}
		if a.Time == "" {
			return nil, fmt.Errorf("%w: alarm %d has no time", ErrBadAlarms, i+1)
		}
		out = append(out, a)
	}
	return out, nil
}

func setAlarmField(a *Alarm, key, v string) bool {
	switch strings.ToLower(strings.TrimSpace(key)) {
	case "time", "timestamp", "at":
		a.Time = v
	case "location", "place", "site":
		a.Location = v
	case "device", "device_id", "button":
		a.Device = v
	case "incident", "incident_ref", "ref":
		a.Incident = v
	default:
		return false
	}
	return true
}

func parseAlarmsCSV(b []byte) ([]Alarm, error) {
	cr := csv.NewReader(bytes.NewReader(b))
	cr.TrimLeadingSpace = true
	cr.Comment = '#'
	rows, err := cr.ReadAll()
	if err != nil {
		return nil, fmt.Errorf("%w: %v", ErrBadAlarms, err)
	}
	if len(rows) < 1 {
		return nil, fmt.Errorf("%w: no header row", ErrBadAlarms)
	}
	header := rows[0]
	hasTime := false
	for _, h := range header {
		var probe Alarm
		setAlarmField(&probe, h, "x")
		if probe.Time != "" {
			hasTime = true
		}
	}
	if !hasTime {
		return nil, fmt.Errorf("%w: the CSV header must name a time column (time,location,device[,incident])", ErrBadAlarms)
	}
	var out []Alarm
	for _, row := range rows[1:] {
		var a Alarm
		for j, v := range row {
			if j < len(header) {
				setAlarmField(&a, header[j], v)
			}
		}
		out = append(out, a)
	}
	return out, nil
}
