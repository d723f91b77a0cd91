package notifier

import (
	"context"
	"encoding/json"
	"net/http"
	"reflect"
	"testing"
)

// checkJSONRequest checks what every chat request shares. target is the
// decoded path and, when the request has one, "?" and its query.
func checkJSONRequest(t *testing.T, req receivedRequest, method, target string) {
	t.Helper()
	got := req.Path
	if req.Query != "" {
		got += "?" + req.Query
	}
	if req.Method != method || got != target {
		t.Errorf("request %s %s, want %s %s", req.Method, got, method, target)
	}
	checkHeaders(t, req.Header, map[string]string{"Content-Type": "application/json", "User-Agent": "chancery"})
}

// sendTo sends testAlert (or m) to a receiver, failing on error.
func sendTo(t *testing.T, target Target, m Message) {
	t.Helper()
	if err := testChannels().Send(context.Background(), target, m); err != nil {
		t.Fatalf("send %s: %v", target.Channel, err)
	}
}

const wantAlertText = "Mon 22 Aug 2022 in Moscow\nSergey Lavrov (Minister of Foreign Affairs)\nAleksandar Vulin (Minister of Internal Affairs)"

// Slack and Mattermost take the same JSON; Slack reads mrkdwn (escaped
// &, <, >), Mattermost Markdown.
func TestSlackAndMattermostPostFormattedText(t *testing.T) {
	no := false
	type payload struct {
		Text        string `json:"text"`
		UnfurlLinks *bool  `json:"unfurl_links"`
		UnfurlMedia *bool  `json:"unfurl_media"`
	}
	for _, tc := range []struct {
		channel, path string
		want          payload
	}{
		{"slack", "/services/T000/B000/XXXX", payload{
			Text: "*Talks: Lavrov &amp; Vulin &lt;Moscow&gt;*\n\n" + wantAlertText +
				"\n\n<https://chancery.example.org/api/v1/meetings/01J5|Open in Chancery>",
			UnfurlLinks: &no, UnfurlMedia: &no,
		}},
		{"mattermost", "/hooks/xr3j5x3p4pgk", payload{
			Text: "**Talks: Lavrov & Vulin <Moscow>**\n\n" + wantAlertText +
				"\n\n[Open in Chancery](https://chancery.example.org/api/v1/meetings/01J5)",
		}},
	} {
		t.Run(tc.channel, func(t *testing.T) {
			rcv := newReceiver(t, nil)
			sendTo(t, Target{Channel: tc.channel, To: rcv.URL + tc.path}, testAlert())

			req := rcv.only(t)
			checkJSONRequest(t, req, http.MethodPost, tc.path)
			var got payload
			decodeStrict(t, req.Body, &got)
			if !reflect.DeepEqual(got, tc.want) {
				t.Errorf("body = %s\nwant text %q, unfurling off: %v", req.Body, tc.want.Text, tc.want.UnfurlLinks != nil)
			}
		})
	}
}

func TestDiscordExecutesWebhookWaitingWithoutMentions(t *testing.T) {
	rcv := newReceiver(t, func(w http.ResponseWriter, r *http.Request) {
		w.Header().Set("Content-Type", "application/json")
		w.Write([]byte(`{"id":"1","content":"…"}`))
	})
	sendTo(t, Target{Channel: "discord", To: rcv.URL + "/api/webhooks/123/tok-en?thread_id=77"}, testAlert())

	req := rcv.only(t)
	checkJSONRequest(t, req, http.MethodPost, "/api/webhooks/123/tok-en?thread_id=77&wait=true")
	type mentions struct {
		Parse []string `json:"parse"`
	}
	var got struct {
		Content         string    `json:"content"`
		AllowedMentions *mentions `json:"allowed_mentions"`
	}
	decodeStrict(t, req.Body, &got)
	want := "**Talks: Lavrov & Vulin <Moscow>**\n\n" + wantAlertText +
		"\n\n[Open in Chancery](https://chancery.example.org/api/v1/meetings/01J5)"
	if got.Content != want {
		t.Errorf("content = %q, want %q", got.Content, want)
	}
	if got.AllowedMentions == nil || got.AllowedMentions.Parse == nil || len(got.AllowedMentions.Parse) != 0 {
		t.Errorf("allowed_mentions = %+v, want {parse: []}", got.AllowedMentions)
	}
}

func TestTeamsPostsAdaptiveCardAttachment(t *testing.T) {
	rcv := newReceiver(t, func(w http.ResponseWriter, r *http.Request) { w.WriteHeader(http.StatusAccepted) })
	sendTo(t, Target{Channel: "teams", To: rcv.URL + "/workflows/abc/triggers/manual/paths/invoke?api-version=1&sig=s1g"}, testAlert())

	req := rcv.only(t)
	checkJSONRequest(t, req, http.MethodPost, "/workflows/abc/triggers/manual/paths/invoke?api-version=1&sig=s1g")
	type block struct {
		Type   string `json:"type"`
		Text   string `json:"text"`
		Wrap   bool   `json:"wrap"`
		Size   string `json:"size"`
		Weight string `json:"weight"`
	}
	type action struct {
		Type  string `json:"type"`
		Title string `json:"title"`
		URL   string `json:"url"`
	}
	type card struct {
		Schema  string   `json:"$schema"`
		Type    string   `json:"type"`
		Version string   `json:"version"`
		Body    []block  `json:"body"`
		Actions []action `json:"actions"`
	}
	type attachment struct {
		ContentType string  `json:"contentType"`
		ContentURL  *string `json:"contentUrl"`
		Content     card    `json:"content"`
	}
	var got struct {
		Type        string       `json:"type"`
		Attachments []attachment `json:"attachments"`
	}
	decodeStrict(t, req.Body, &got)
	want := []attachment{{
		ContentType: "application/vnd.microsoft.card.adaptive",
		Content: card{
			Schema:  "http://adaptivecards.io/schemas/adaptive-card.json",
			Type:    "AdaptiveCard",
			Version: "1.4",
			Body: []block{
				{Type: "TextBlock", Text: "Talks: Lavrov & Vulin <Moscow>", Wrap: true, Size: "Medium", Weight: "Bolder"},
				{Type: "TextBlock", Text: wantAlertText, Wrap: true},
			},
			Actions: []action{{Type: "Action.OpenUrl", Title: "Open in Chancery", URL: "https://chancery.example.org/api/v1/meetings/01J5"}},
		},
	}}
	if got.Type != "message" || !reflect.DeepEqual(got.Attachments, want) {
		t.Errorf("body = %+v, want type message with %+v", got, want)
	}
}

func TestTelegramSendsHTMLMessageToChat(t *testing.T) {
	for _, tc := range []struct {
		name, chat string
		wantChat   any
	}{
		{"numeric chat id", "-1001234567890", float64(-1001234567890)},
		{"channel username", "@chancery_desk", "@chancery_desk"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			rcv := newReceiver(t, func(w http.ResponseWriter, r *http.Request) {
				w.Write([]byte(`{"ok":true,"result":{"message_id":7}}`))
			})
			sendTo(t, Target{Channel: "telegram", To: rcv.URL + "/?chat_id=" + tc.chat, Secret: "123456:ABC-DEF_ghi"}, testAlert())

			req := rcv.only(t)
			checkJSONRequest(t, req, http.MethodPost, "/bot123456:ABC-DEF_ghi/sendMessage")
			type preview struct {
				IsDisabled bool `json:"is_disabled"`
			}
			var got struct {
				ChatID             any     `json:"chat_id"`
				Text               string  `json:"text"`
				ParseMode          string  `json:"parse_mode"`
				LinkPreviewOptions preview `json:"link_preview_options"`
			}
			decodeStrict(t, req.Body, &got)
			wantText := "<b>Talks: Lavrov &amp; Vulin &lt;Moscow&gt;</b>\n\n" + wantAlertText +
				"\n\n<a href=\"https://chancery.example.org/api/v1/meetings/01J5\">Open in Chancery</a>"
			if got.ChatID != tc.wantChat || got.Text != wantText || got.ParseMode != "HTML" || !got.LinkPreviewOptions.IsDisabled {
				t.Errorf("body = %+v\nwant chat_id %v, text %q, parse_mode HTML, previews disabled", got, tc.wantChat, wantText)
			}
		})
	}
}

func TestTelegramAnswerWithoutOKIsNotSent(t *testing.T) {
	rcv := newReceiver(t, func(w http.ResponseWriter, r *http.Request) {
		w.Write([]byte(`{"ok":false,"description":"strange"}`))
	})
	err := testChannels().Send(context.Background(), Target{Channel: "telegram", To: rcv.URL + "?chat_id=1", Secret: "1:x"}, testAlert())
	checkSendError(t, err, false, 0, 0)
}

func TestMatrixPutsNoticeWithAlertIDAsTransaction(t *testing.T) {
	rcv := newReceiver(t, func(w http.ResponseWriter, r *http.Request) {
		w.Write([]byte(`{"event_id":"$YUwRidLecu:example.org"}`))
	})
	sendTo(t, Target{Channel: "matrix", To: rcv.URL + "?room=!cURbafjkfsMDVwdRDQ:example.org", Secret: "syt_token"}, testAlert())

	req := rcv.only(t)
	checkJSONRequest(t, req, http.MethodPut, "/_matrix/client/v3/rooms/!cURbafjkfsMDVwdRDQ:example.org/send/m.room.message/alt_0123456789abcdef")
	if want := "/_matrix/client/v3/rooms/%21cURbafjkfsMDVwdRDQ:example.org/send/m.room.message/alt_0123456789abcdef"; req.EscapedPath != want {
		t.Errorf("escaped path = %q, want %q", req.EscapedPath, want)
	}
	checkHeaders(t, req.Header, map[string]string{"Authorization": "Bearer syt_token"})
	var got struct {
		MsgType       string `json:"msgtype"`
		Body          string `json:"body"`
		Format        string `json:"format"`
		FormattedBody string `json:"formatted_body"`
	}
	decodeStrict(t, req.Body, &got)
	wantBody := "Talks: Lavrov & Vulin <Moscow>\n\n" + wantAlertText + "\n\nhttps://chancery.example.org/api/v1/meetings/01J5"
	wantHTML := "<strong>Talks: Lavrov &amp; Vulin &lt;Moscow&gt;</strong><br><p>Mon 22 Aug 2022 in Moscow</p>" +
		`<br><a href="https://chancery.example.org/api/v1/meetings/01J5">Open in Chancery</a>`
	if got.MsgType != "m.notice" || got.Body != wantBody || got.Format != "org.matrix.custom.html" || got.FormattedBody != wantHTML {
		t.Errorf("content = %+v\nwant m.notice, body %q, formatted_body %q", got, wantBody, wantHTML)
	}
}

func TestNtfyPublishesJSONToTheServerRoot(t *testing.T) {
	for _, tc := range []struct {
		name      string
		topicPath string
		secret    string
		category  string
		late      bool
		wantPath  string
		wantAuth  string
		wantTags  []string
		wantPrio  int
	}{
		{"ntfy.sh topic", "/chancery-desk", "", "reminder", false, "/", "", []string{"alarm_clock"}, 3},
		{"server under a path, token, late", "/ntfy/chancery-desk", "tk_AgQdq7mVBoFD37zQVN29RhuMzNIz2", "reminder", true, "/ntfy/", "Bearer tk_AgQdq7mVBoFD37zQVN29RhuMzNIz2", []string{"alarm_clock", "late"}, 3},
		{"change is high priority", "/chancery-desk", "", "change", false, "/", "", []string{"warning"}, 4},
		{"digest is low priority", "/chancery-desk", "", "digest", false, "/", "", []string{"spiral_calendar"}, 2},
	} {
		t.Run(tc.name, func(t *testing.T) {
			rcv := newReceiver(t, func(w http.ResponseWriter, r *http.Request) { w.Write([]byte(`{"id":"x"}`)) })
			m := testAlert()
			m.Category, m.Late = tc.category, tc.late
			sendTo(t, Target{Channel: "ntfy", To: rcv.URL + tc.topicPath, Secret: tc.secret}, m)

			req := rcv.only(t)
			checkJSONRequest(t, req, http.MethodPost, tc.wantPath)
			checkHeaders(t, req.Header, map[string]string{"Authorization": tc.wantAuth})
			type publish struct {
				Topic    string   `json:"topic"`
				Title    string   `json:"title"`
				Message  string   `json:"message"`
				Tags     []string `json:"tags"`
				Priority int      `json:"priority"`
				Click    string   `json:"click"`
			}
			var got publish
			decodeStrict(t, req.Body, &got)
			want := publish{
				Topic:    "chancery-desk",
				Title:    "Talks: Lavrov & Vulin <Moscow>",
				Message:  wantAlertText,
				Tags:     tc.wantTags,
				Priority: tc.wantPrio,
				Click:    "https://chancery.example.org/api/v1/meetings/01J5",
			}
			if !reflect.DeepEqual(got, want) {
				t.Errorf("body = %+v\nwant %+v", got, want)
			}
		})
	}
}

func TestChannelRejectsUnknownChannelPermanently(t *testing.T) {
	err := testChannels().Send(context.Background(), Target{Channel: "pigeon", To: "loft"}, testAlert())
	checkSendError(t, err, true, 0, 0)
}

// decodeJSONValue compacts a JSON value for comparison.
func decodeJSONValue(t *testing.T, raw []byte) any {
	t.Helper()
	var v any
	if err := json.Unmarshal(raw, &v); err != nil {
		t.Fatalf("decode %s: %v", raw, err)
	}
	return v
}
