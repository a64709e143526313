"""File names: kept for display, never trusted in keys."""

from django_uploadkit.names import display_name, safe_key_name


def test_display_name_drops_control_and_bidi_characters_but_keeps_unicode():
    assert display_name("caf\u0065\u0301\u202e\x00.jpg") == "café.jpg"


def test_safe_key_names():
    assert safe_key_name("../../etc/passwd") == "passwd"
    assert safe_key_name("C:\\Windows\\evil.exe") == "evil.exe"
    assert safe_key_name("..") == "file"
    assert safe_key_name("my photo (1).JPG") == "my-photo-1-.JPG"
    assert safe_key_name("x" * 300 + ".jpg").endswith(".jpg")
    assert len(safe_key_name("x" * 300 + ".jpg")) == 120
