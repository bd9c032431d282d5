#!/usr/bin/env bash
# placeholder until implemented
exit 0
